#!/usr/bin/env bash
# Benchmark (not a test): `demographer run` on the demo set (20,000 devices,
# seed 1, as scripts/demo.sh makes it) with the default families, then each
# default family alone, so the share of each in the train stage is measured
# in one run. Prints each stage's seconds (report.json), and per family the
# wall and CPU seconds of the whole run. On a shared machine compare the
# ratios, and the CPU seconds, not the wall time.
#
# bash bench/run.sh full: per synth world (WORLDS="a b", default every world;
# world=NAME one world), one table at full size (186,716 devices): (a) the
# default `demographer run`; (b) scikit-learn's GridSearchCV over softmax's
# grid (the family that takes most of (a)'s cross-validation) on
# demographer's own design matrices, folds and bag weighting (train
# --save-design, untimed), n_jobs=2 (bench/search_sklearn.py; xgboost and
# the priors have no scikit-learn counterpart on the same design and are not
# in it); (c) the notebook without CV (pandas load, its own features, one fit
# per target: bench/models_sklearn.py with NO_CV=1). Wall seconds and peak
# RSS of each, and (b)/(a), (c)/(a). SUBSET=F runs (b) on a seeded share F
# of the train rows (its row says so) when the whole search takes too long.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = full ] && [ -z "${world:-}" ]; then
  # One table per synth world: WORLDS="a b" (default every world).
  worlds=${WORLDS:-}
  if [ -z "$worlds" ]; then
    bash scripts/build.sh build-release --buildtype=release >/dev/null
    worlds=$(./build-release/demographer synth --list-worlds)
  fi
  for w in $worlds; do
    echo "world $w:"
    world=$w bash "$0" full
    echo
  done
  exit 0
fi
if [ "${1:-}" = full ]; then
  . bench/full_set.sh
  dpkg-query -W -f='${Status}' python3-sklearn 2>/dev/null | grep -q 'install ok installed' ||
    { apt-get update -qq && apt-get install -y -qq python3-sklearn >/dev/null; }
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
  read -r a_s a_m < <(m $bin run "$data" --quiet --no-snapshot --out "$out/a")
  $bin train "$data" --quiet --no-snapshot --families prior --no-charts --out "$out/d" \
    --save-design "$out/design" >/dev/null
  bags=$(/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))
print("tfidf" if r["bags"].startswith("scenario 1: tfidf") else "binary")' "$out/a/train/runs.json")
  read -r b_s b_m < <(N_JOBS=2 SUBSET=${SUBSET:-1} m /usr/bin/python3 bench/search_sklearn.py \
    "$out/design" "$bags" "$out/b.csv")
  read -r c_s c_m < <(NO_CV=1 m /usr/bin/python3 bench/models_sklearn.py "$data" \
    "$out/a/train/split.csv" "$out/c.csv")
  train_s=$(/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))
print(next(s["seconds"] for s in r["stages"] if s["stage"] == "train"))' "$out/a/report.json")
  printf '%-58s %9s %9s %9s\n' "186,716 devices, 2 cores; load $(cut -d' ' -f1-3 /proc/loadavg)" \
    "wall s" "peak MiB" "x (a)"
  printf '%-58s %9.1f %9.0f %9s\n' "(a) demographer run (defaults; train stage ${train_s%.*} s)" \
    "$a_s" "$a_m" 1
  b_label="(b) sklearn GridSearchCV, softmax's grid, 5 folds, n_jobs=2"
  [ "${SUBSET:-1}" = 1 ] || b_label="$b_label, ${SUBSET} of the rows"
  printf '%-58s %9.1f %9.0f %9.1f\n' "$b_label" "$b_s" "$b_m" \
    "$(awk -v b="$b_s" -v a="$a_s" 'BEGIN { print b / a }')"
  printf '%-58s %9.1f %9.0f %9.1f\n' "(c) pandas + sklearn notebook, no CV" "$c_s" "$c_m" \
    "$(awk -v c="$c_s" -v a="$a_s" 'BEGIN { print c / a }')"
  echo "(b) per scenario and target (chosen l2, CV and test log loss):"
  column -s, -t "$out/b.csv"
  exit 0
fi
bin=${bin:-./build/demographer}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
$bin synth --quiet --out "$out/data" --devices "${DEVICES:-20000}" --seed 1
timed() { # label, run arguments...
  local label=$1
  shift
  /usr/bin/time -f "%e %U %S" -o "$out/time" $bin run "$out/data" --quiet --no-snapshot "$@" >/dev/null
  read -r wall user sys <"$out/time"
  printf '%-44s %9.1f %9.1f\n' "$label" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')"
}
printf '%-44s %9s %9s\n' run "wall s" "CPU s"
timed "defaults" --out "$out/all"
/usr/bin/python3 - "$out/all/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for s in r["stages"]:
    if s["seconds"] is not None:
        print(f'  {s["stage"]:<12} {s["seconds"]:8.2f} s')
PY
for fam in brand-model-prior softmax xgboost; do
  timed "prior + $fam (no eda, maps)" --families "prior,$fam" --skip eda,maps --out "$out/$fam"
done

#!/usr/bin/env bash
# Benchmark (not a test): how much of the peer-to-floor gap the default
# `demographer run` closes at full size (186,716 devices, seed 1), per
# synth world (synth --list-worlds), scenario and target (accuracy.h). The
# floor is the world's exact posterior (synth --world W --truth, the same
# seed and size, so the same devices); the peer is the notebook without CV
# (bench/models_sklearn.py, NO_CV=1: pandas features, LogisticRegression
# C=0.1 / Ridge alpha=100), on the run's own split. Prints per world the
# report's accuracy table, the run's stage seconds and peak RSS; then, per
# figure (gender, group12 and age in scenarios 1 and 2), the worst world's
# closure; then the real-data scenario-2 check (bench/real_check.sh: skipped
# when ../shared/data/real is absent).
# Usage: bash bench/closure.sh [--world NAME] [DEVICES]   (default: every
#   world, the full-size set)
#   WORLDS="a b"    the worlds to run (--world NAME: that one)
#   RUN_ARGS="..."  extra options for the run (e.g. --ablation, --families ...)
#   KEEP=DIR        keep each world's run output folder in DIR/WORLD
#   NO_REAL=1       leave out the real-data check
set -euo pipefail
cd "$(dirname "$0")/.."
worlds=${WORLDS:-}
if [ "${1:-}" = --world ]; then
  worlds=$2
  shift 2
fi
devices=${1:-186716}
dpkg-query -W -f='${Status}' python3-sklearn 2>/dev/null | grep -q 'install ok installed' ||
  { apt-get update -qq && apt-get install -y -qq python3-sklearn >/dev/null; }
if [ -z "$worlds" ]; then
  bash scripts/build.sh build-release --buildtype=release >/dev/null
  worlds=$(./build-release/demographer synth --list-worlds | tr '\n' ' ')
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
summary=$tmp/summary
: >"$summary"

closure_one() { # world
  world=$1
  . bench/sized_set.sh
  truth=$data.truth.csv
  local out=$tmp/$world
  mkdir -p "$out"
  if [ ! -f "$truth" ]; then
    # The same seed and size give the same devices: only the truth file is kept.
    $bin synth --quiet --world "$world" --out "$out/again" --devices "$devices" --seed 1 \
      --truth "$out/truth.csv"
    cmp -s "$out/again/gender_age_train.csv" "$data/gender_age_train.csv" ||
      { echo "closure.sh: the regenerated labels differ from $data's" >&2; exit 1; }
    mv "$out/truth.csv" "$truth"
    rm -rf "$out/again"
  fi
  # The split the run makes (train writes it; the prior alone is quick).
  $bin train "$data" --quiet --families prior --no-charts --out "$out/split" >/dev/null
  read -r p_s p_m < <(NO_CV=1 m /usr/bin/python3 bench/models_sklearn.py "$data" \
    "$out/split/split.csv" "$out/peer.csv" "$out/peer-predictions.csv")
  # shellcheck disable=SC2086
  read -r a_s a_m < <(m $bin run "$data" --quiet --out "$out/run" --synth-truth "$truth" \
    --peer-predictions "$out/peer-predictions.csv" ${RUN_ARGS:-})
  /usr/bin/python3 - "$out/run/report.json" "$a_s" "$a_m" "$p_s" "$p_m" "$devices" "$world" \
    "$summary" <<'PY'
import json
import sys
r = json.load(open(sys.argv[1]))
a_s, a_m, p_s, p_m, devices = map(float, sys.argv[2:7])
world, summary = sys.argv[7:9]
print(f"world {world}: {int(devices)} devices; peer: the notebook without CV; "
      "floor: the world's posterior")
print(f"{'scen':4} {'target':8} {'metric':8} {'devices':>7} {'model':>8} {'peer':>8} "
      f"{'floor':>8} {'closed':>7}")
with open(summary, "a") as s:
    for x in r["accuracy"]["rows"]:
        c = "-" if x["closure"] is None else f"{100 * x['closure']:.1f} %"
        print(f"{x['scenario']:<4} {x['target']:8} {x['metric']:8} {x['devices']:7d} "
              f"{x['model']:8.4f} {x['peer']:8.4f} {x['floor']:8.4f} {c:>7}")
        if x["target"] in ("gender", "group12", "age") and x["closure"] is not None:
            s.write(f"{x['scenario']} {x['target']} {x['metric']} {world} {x['closure']} "
                    f"{x['model']} {x['floor']}\n")
abl = r.get("train", {}).get("ablation")
if abl:
    print("ablation (CV, train split): the chosen model's score without each block")
    for a in abl:
        print(f"  s{a['scenario']} {a['target']:8} {a['family']:12} {a['block']:8} "
              f"{a['cv_score']:.4f} -> {a['cv_score_without']:.4f} ({a['cv_change']:+.4f})")
st = {s["stage"]: s["seconds"] for s in r["stages"] if s["ran"]}
print("run: " + ", ".join(f"{k} {v:.1f} s" for k, v in st.items() if v is not None))
print(f"demographer run {a_s:.1f} s (peak {a_m:.0f} MiB); notebook peer {p_s:.1f} s "
      f"(peak {p_m:.0f} MiB)")
PY
  if [ -n "${KEEP:-}" ]; then
    mkdir -p "$KEEP"
    cp -r "$out/run" "$KEEP/$world"
  fi
  rm -rf "$out"
  echo
}

for w in $worlds; do
  closure_one "$w"
done
/usr/bin/python3 - "$summary" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
figs = {}
for scen, target, metric, world, closure, model, floor in rows:
    figs.setdefault((int(scen), target, metric), []).append((float(closure), world))
print("worst world per figure (the figure of merit):")
for (scen, target, metric), v in sorted(figs.items()):
    c, w = min(v)
    print(f"  s{scen} {target:8} {metric:8} {100 * c:6.1f} %  ({w}; of "
          f"{', '.join(f'{x[1]} {100 * x[0]:.1f} %' for x in v)})")
PY
[ "${NO_REAL:-0}" = 1 ] || bash bench/real_check.sh

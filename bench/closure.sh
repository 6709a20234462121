#!/usr/bin/env bash
# Benchmark (not a test): how much of the peer-to-floor gap the default
# `demographer run` closes at full size (186,716 devices, seed 1), per
# scenario and target (accuracy.h). The floor is the generator's exact
# posterior (synth --truth, the same seed and size, so the same devices);
# the peer is the notebook without CV (bench/models_sklearn.py, NO_CV=1:
# pandas features, LogisticRegression C=0.1 / Ridge alpha=100), on the
# run's own split. Prints the report's accuracy table, the run's stage
# seconds and peak RSS.
# Usage: bash bench/closure.sh [DEVICES]   (default: the full-size set)
#   RUN_ARGS="..."  extra options for the run (e.g. --ablation, --families ...)
#   KEEP=DIR        keep the run's output folder there
set -euo pipefail
cd "$(dirname "$0")/.."
devices=${1:-186716}
. bench/sized_set.sh
dpkg-query -W -f='${Status}' python3-sklearn 2>/dev/null | grep -q 'install ok installed' ||
  { apt-get update -qq && apt-get install -y -qq python3-sklearn >/dev/null; }
truth=${truth:-$data.truth.csv}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if [ ! -f "$truth" ]; then
  # The same seed and size give the same devices: only the truth file is kept.
  $bin synth --quiet --out "$out/again" --devices "$devices" --seed 1 --truth "$out/truth.csv"
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
/usr/bin/python3 - "$out/run/report.json" "$a_s" "$a_m" "$p_s" "$p_m" "$devices" <<'PY'
import json
import sys
r = json.load(open(sys.argv[1]))
a_s, a_m, p_s, p_m, devices = map(float, sys.argv[2:7])
print(f"{int(devices)} devices; peer: the notebook without CV; floor: the generator's posterior")
print(f"{'scen':4} {'target':8} {'metric':8} {'devices':>7} {'model':>8} {'peer':>8} "
      f"{'floor':>8} {'closed':>7}")
for x in r["accuracy"]["rows"]:
    c = "-" if x["closure"] is None else f"{100 * x['closure']:.1f} %"
    print(f"{x['scenario']:<4} {x['target']:8} {x['metric']:8} {x['devices']:7d} "
          f"{x['model']:8.4f} {x['peer']:8.4f} {x['floor']:8.4f} {c:>7}")
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
[ -z "${KEEP:-}" ] || cp -r "$out/run" "$KEEP"

#!/usr/bin/env bash
# Benchmark (not a test): `demographer train` (load, clean, features, designs,
# 5-fold CV over every registered family's grid, refit, test, export) against
# the notebook-style peer bench/models_sklearn.py (pandas features,
# scikit-learn LogisticRegression / Ridge with a 5-fold grid search) on the
# same split, in one run: test metrics side by side and end-to-end time.
# Usage: bash bench/models.sh [DEVICES]   (default: the full-size set)
set -euo pipefail
cd "$(dirname "$0")/.."
devices=${1:-186716}
if [ "$devices" = 186716 ]; then
  . bench/full_set.sh
else
  bash scripts/build.sh build-release --buildtype=release
  bin=./build-release/demographer
  data=bench/out/models-$devices
  [ -f "$data/.complete" ] || { $bin synth --quiet --out "$data" --devices "$devices" --seed 1 &&
    touch "$data/.complete"; }
  m() { /usr/bin/python3 bench/measure.py "$@"; }
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
read -r d_s d_m < <(m $bin train --quiet --no-snapshot --no-charts --out "$out/dg" "$data")
read -r p_s p_m < <(m /usr/bin/python3 bench/models_sklearn.py "$data" "$out/dg/split.csv" "$out/sk.csv")
/usr/bin/python3 - "$out/dg/runs.csv" "$out/sk.csv" "$d_s" "$d_m" "$p_s" "$p_m" "$devices" <<'PY'
import sys
import pandas as pd
runs, sk = pd.read_csv(sys.argv[1]), pd.read_csv(sys.argv[2])
d_s, d_m, p_s, p_m, devices = map(float, sys.argv[3:8])
runs = runs[runs.scenario.astype(str) != "1+2"].copy()
runs["scenario"] = runs.scenario.astype(int)
print(f"{int(devices)} devices; metric: log loss (gender, groups) or RMSE (age), test split; lower is better")
print(f"{'scen':4} {'target':8} {'prior':>8} {'demographer chosen':>34} {'sklearn':>8}  families tried")
for _, r in sk.iterrows():
    sel = runs[(runs.scenario == r.scenario) & (runs.target == r.target)]
    metric = "rmse" if r.target == "age" else "log_loss"
    prior = sel[sel.family == "prior"][metric].iloc[0]
    ch = sel[sel.chosen == 1].iloc[0]
    print(f"{r.scenario:<4} {r.target:8} {prior:8.4f} {ch.family + ' ' + format(ch[metric], '.4f'):>34} "
          f"{r[metric]:8.4f}  {','.join(sel.family)}")
print(f"end to end: demographer train {d_s:.2f} s (peak {d_m:.0f} MiB), pandas+sklearn "
      f"{p_s:.2f} s (peak {p_m:.0f} MiB): {p_s / d_s:.1f}x")
PY

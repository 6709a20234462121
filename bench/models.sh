#!/usr/bin/env bash
# Benchmark (not a test): `demographer train` (load, clean, features, designs,
# 5-fold CV over every registered family's grid, refit, test, export) against
# the notebook-style peer bench/models_sklearn.py (pandas features,
# scikit-learn LogisticRegression / Ridge with a 5-fold grid search) on the
# same split, in one run: test metrics side by side and end-to-end time.
# Usage: bash bench/models.sh [DEVICES]   (default: the full-size set)
#   DG_FAMILIES=a,b,...  trains only those families (default: every registered one)
# A smaller set is generated with the generator's truth file, whose exact
# posterior gives the floor of the gender and group12 log loss on the same
# test devices.
set -euo pipefail
cd "$(dirname "$0")/.."
devices=${1:-186716}
. bench/sized_set.sh
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
read -r d_s d_m < <(m $bin train --quiet --no-snapshot --no-charts ${DG_FAMILIES:+--families "$DG_FAMILIES"} --out "$out/dg" "$data")
read -r p_s p_m < <(m /usr/bin/python3 bench/models_sklearn.py "$data" "$out/dg/split.csv" "$out/sk.csv")
/usr/bin/python3 - "$out/dg/runs.csv" "$out/sk.csv" "$d_s" "$d_m" "$p_s" "$p_m" "$devices" \
  "$out/dg/split.csv" "$data" "${truth:-}" <<'PY'
import os
import sys
import numpy as np
import pandas as pd
runs, sk = pd.read_csv(sys.argv[1]), pd.read_csv(sys.argv[2])
d_s, d_m, p_s, p_m, devices = map(float, sys.argv[3:8])
floor = {}
if sys.argv[10] and os.path.exists(sys.argv[10]):
    t = pd.read_csv(sys.argv[10])
    split = pd.read_csv(sys.argv[8])
    lab = pd.read_csv(os.path.join(sys.argv[9], "gender_age_train.csv"))
    te = split[split.is_test == 1].merge(lab, on="device_id").merge(t, on="device_id")
    for s, part in te.groupby("scenario"):
        p_true_gender = np.where(part.gender == "F", 1 - part.p_male, part.p_male)
        floor[(s, "gender")] = -np.log(np.clip(p_true_gender, 1e-15, 1)).mean()
        floor[(s, "group12")] = -np.log(np.clip(
            part.apply(lambda r: r["p_" + r["group"]], axis=1), 1e-15, 1)).mean()
runs = runs[runs.scenario.astype(str) != "1+2"].copy()
runs["scenario"] = runs.scenario.astype(int)
print(f"{int(devices)} devices; metric: log loss (gender, groups) or RMSE (age), test split; lower is better;")
print("floor: the generator's exact posterior on the same test devices (small sets only)")
print(f"{'scen':4} {'target':8} {'prior':>8} {'demographer chosen':>34} {'sklearn':>8} {'floor':>7}  families tried")
for _, r in sk.iterrows():
    sel = runs[(runs.scenario == r.scenario) & (runs.target == r.target)]
    metric = "rmse" if r.target == "age" else "log_loss"
    prior = sel[sel.family == "prior"][metric].iloc[0]
    ch = sel[sel.chosen == 1].iloc[0]
    print(f"{r.scenario:<4} {r.target:8} {prior:8.4f} {ch.family + ' ' + format(ch[metric], '.4f'):>34} "
          f"{r[metric]:8.4f} {floor.get((r.scenario, r.target), float('nan')):7.4f}  {','.join(sel.family)}")
print(f"end to end: demographer train {d_s:.2f} s (peak {d_m:.0f} MiB), pandas+sklearn "
      f"{p_s:.2f} s (peak {p_m:.0f} MiB): {p_s / d_s:.1f}x")
PY

#!/usr/bin/env bash
# Benchmark (not a test): the real-data scenario-2 check. The real train
# labels, the real phone model names (phone_brand_device_model.altered_subset.csv:
# real models, brands rewritten by a course) and the mapping file's split
# (train_test_split_exact_ids.csv) from ../shared/data/real, with no events:
# every labelled device is in scenario 2. Prints demographer train's group12
# test log loss (its defaults, chosen by its CV) beside scikit-learn's
# LogisticRegression on the same one-hot columns (train --save-design) at its
# best C chosen by GridSearchCV on the same train-split folds
# (bench/search_sklearn.py; GRID= the l2 values, default a wide one).
# Skips cleanly (exit 0) when ../shared/data/real is absent.
# Usage: bash bench/real_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
real=${REAL:-../shared/data/real}
if [ ! -f "$real/gender_age_train.csv" ]; then
  echo "real-data check: $real is absent: skipped"
  exit 0
fi
if [ -z "${bin:-}" ]; then
  bash scripts/build.sh build-release --buildtype=release >/dev/null
  bin=./build-release/demographer
fi
data=bench/out/real
if [ ! -f "$data/.complete" ]; then
  rm -rf "$data"
  mkdir -p "$data"
  cp "$real/gender_age_train.csv" "$real/label_categories.csv" "$data/"
  cp "$real/phone_brand_device_model.altered_subset.csv" "$data/phone_brand_device_model.csv"
  cp "$real/train_test_split_exact_ids.csv" "$data/train_test_split.csv"
  echo device_id >"$data/gender_age_test.csv"
  echo event_id,device_id,timestamp,longitude,latitude >"$data/events.csv"
  echo event_id,app_id,is_installed,is_active >"$data/app_events.csv"
  echo app_id,label_id >"$data/app_labels.csv"
  touch "$data/.complete"
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
$bin train "$data" --quiet --no-snapshot --scenarios 2 --targets group12 --no-charts \
  --out "$out/t" --save-design "$out/design" >/dev/null
GRID=${GRID:-1e-4,3e-4,1e-3,3e-3,1e-2,3e-2,1e-1,3e-1} /usr/bin/python3 bench/search_sklearn.py \
  "$out/design" none "$out/sk.csv"
/usr/bin/python3 - "$out/t/runs.json" "$out/sk.csv" <<'PY'
import csv
import json
import sys
runs = json.load(open(sys.argv[1]))
runs = runs["runs"] if isinstance(runs, dict) else runs
dg = [r for r in runs if r.get("scenario") == 2 and r.get("target") == "group12" and r.get("chosen")]
sk = [r for r in csv.DictReader(open(sys.argv[2])) if r["scenario"] == "2" and r["target"] == "group12"]
d, s = dg[0], sk[0]
print("real-data check (scenario 2, group12, the mapping file's test split):")
print(f"  demographer {d['family']} ({d['params']}): CV {d['cv_score']:.4f}, "
      f"test {d['log_loss']:.4f}")
print(f"  sklearn LogisticRegression, same columns, l2 {float(s['l2']):g} by CV: "
      f"CV {float(s['cv_log_loss']):.4f}, test {float(s['test_log_loss']):.4f}")
PY

#!/usr/bin/env bash
# Benchmark (not a test): the campaigns over a generated set (default the full
# size, 186,716 devices), with the generator's Bayes posterior (its truth file:
# what the files show about each device, the best any model can do) as the
# predictions. Prints the reach of each campaign over every device, with the
# deciles ranked over the test split and the expected precision measured on
# it: the ceiling a model's campaigns can reach on this data. Then the time of
# the campaigns command, and of one device alone with the saved thresholds.
# usage: bench/campaigns.sh [DEVICES]
set -euo pipefail
cd "$(dirname "$0")/.."
devices=${1:-186716}
bash scripts/build.sh build-release --buildtype=release
bin=./build-release/demographer
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
$bin synth --quiet --out "$out/data" --devices "$devices" --seed 1 --truth "$out/truth.csv"
/usr/bin/python3 bench/truth_predictions.py "$out/truth.csv" "$out/data/events.csv" \
  "$out/data/train_test_split.csv" "$out/all.csv" "$out/test.csv"
$bin campaigns --predictions "$out/all.csv" --reference "$out/test.csv" \
  --truth "$out/data/train_test_split.csv" --out "$out/c"
m() { /usr/bin/python3 bench/measure.py "$@"; }
read -r a_s a_m < <(m $bin campaigns --quiet --predictions "$out/all.csv" --reference "$out/test.csv" \
  --truth "$out/data/train_test_split.csv" --out "$out/c")
head -2 "$out/all.csv" > "$out/one.csv"
read -r o_s o_m < <(m $bin campaigns --quiet --predictions "$out/one.csv" \
  --thresholds "$out/c/thresholds.txt" --out "$out/one")
n=$(($(wc -l < "$out/all.csv") - 1))
printf 'campaigns over %d devices (read, rank, assign, reach, write): %.2f s, peak %.0f MiB\n' \
  "$n" "$a_s" "$a_m"
printf 'one device with the saved thresholds: %.3f s\n' "$o_s"
# The lone device gets the same line as in the full run.
d=$(tail -1 "$out/one/device_campaigns.csv")
grep -qxF "$d" "$out/c/device_campaigns.csv" && echo "same campaigns alone as in the full run: $d"

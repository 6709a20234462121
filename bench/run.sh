#!/usr/bin/env bash
# Benchmark (not a test): `demographer run` on the demo set (20,000 devices,
# seed 1, as scripts/demo.sh makes it) with the default families, then each
# default family alone, so the share of each in the train stage is measured
# in one run. Prints each stage's seconds (report.json), and per family the
# wall and CPU seconds of the whole run. On a shared machine compare the
# ratios, and the CPU seconds, not the wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
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

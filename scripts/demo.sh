#!/usr/bin/env bash
# The main job on the embedded demo data: installs what is missing, builds,
# generates the demo data set (the generator's output, seed 1, in the real
# files' schemas) and runs the whole pipeline on it with `demographer run`:
# load, clean, the exploratory tables, maps, location clusters, features,
# the models (trained, compared, exported, re-evaluated), the test devices'
# predictions and the campaigns, summed up in demo-out/report.html (one
# self-contained page), demo-out/report.md and
# demo-out/report.json.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh build
./build/demographer synth --out demo-data --seed 1
./build/demographer run demo-data --out demo-out
echo "The report: $(pwd)/demo-out/report.html (and report.md; data: demo-out/report.json)"
# The build writes the manual but does not install it: read it from there.
echo "The manual: man ./build/demographer.1 (the build does not install it; 'meson install -C build' does)"

#!/usr/bin/env bash
# The main job on the embedded demo data: installs what is missing, builds,
# generates the demo data set (the generator's output, seed 1) and runs the
# pipeline on it: load, clean, the exploratory tables, the features (all
# written under demo-out/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh build
./build/demographer synth --out demo-data --seed 1
./build/demographer load demo-data
./build/demographer clean demo-data --out demo-out/clean
./build/demographer eda demo-data --out demo-out/eda
./build/demographer features demo-data --out demo-out/features

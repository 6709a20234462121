#!/usr/bin/env bash
# Benchmark (not a test): fit and predict seconds and test loss of every model
# family on a 50,000 x 20,000 sparse matrix (about 50 entries a row) with a
# planted signal, beside the class-prior / mean baseline (bench/families.c).
#   bash bench/families.sh [ROWS COLS PER_ROW [FAMILY...]]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh build-release --buildtype=release
meson compile -C build-release bench_families >/dev/null
OMP_WAIT_POLICY=PASSIVE ./build-release/bench_families "$@"

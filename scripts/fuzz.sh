#!/usr/bin/env bash
# Fuzzes with libFuzzer (clang, ASan + UBSan) for SECONDS (default 60):
#   scripts/fuzz.sh [SECONDS]          the CSV reader, from the real file heads and the fixtures
#   scripts/fuzz.sh SECONDS serve      the API's request parsing, from tests/fixtures/serve
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
target=${2:-csv}
dpkg-query -W -f='${Status}' clang 2>/dev/null | grep -q 'install ok installed' ||
  { apt-get update -qq && apt-get install -y -qq clang >/dev/null; }
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined \
    -Dc_args=-fsanitize=fuzzer-no-link \
    -Db_lundef=false --buildtype=debugoptimized >/dev/null
fi
if [ "$target" = serve ]; then
  meson compile -C build-fuzz tests/fuzz_serve >/dev/null
  corpus=build-fuzz/corpus-serve
  mkdir -p "$corpus"
  cp -n tests/fixtures/serve/* "$corpus"/
  exec ./build-fuzz/tests/fuzz_serve -max_total_time="$secs" -max_len=16384 \
    -print_final_stats=1 "$corpus"
fi
meson compile -C build-fuzz tests/fuzz_csv >/dev/null
corpus=build-fuzz/corpus-csv
mkdir -p "$corpus"
cp -n ../shared/data/real/heads/*.csv "$corpus"/ 2>/dev/null || true
cp -n tests/fixtures/*.csv "$corpus"/ 2>/dev/null || true
./build-fuzz/tests/fuzz_csv -max_total_time="$secs" -max_len=8192 -print_final_stats=1 "$corpus"

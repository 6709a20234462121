#!/usr/bin/env bash
# Fuzzes with libFuzzer (clang, ASan + UBSan) for SECONDS (default 60):
#   scripts/fuzz.sh [SECONDS]          the CSV reader, from the real file heads and the fixtures
#   scripts/fuzz.sh SECONDS serve      the API's request parsing, from tests/fixtures/serve
#   scripts/fuzz.sh SECONDS http       the API's HTTP framing (request heads, chunked
#                                      bodies), from tests/fixtures/http
# RUNS=N stops after N executions instead (e.g. RUNS=10000000 SECONDS=0).
# UBSan findings stop the run like ASan's (halt_on_error). Corpora and crash
# files stay under build-fuzz/ (never in the repository).
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
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
limit=(-max_total_time="$secs")
[ -n "${RUNS:-}" ] && limit+=(-runs="$RUNS")
mkdir -p build-fuzz/artifacts
if [ "$target" = http ]; then
  meson compile -C build-fuzz tests/fuzz_http >/dev/null
  corpus=build-fuzz/corpus-http
  mkdir -p "$corpus"
  cp -n tests/fixtures/http/* "$corpus"/
  exec ./build-fuzz/tests/fuzz_http "${limit[@]}" -max_len=4096 \
    -artifact_prefix=build-fuzz/artifacts/ -print_final_stats=1 "$corpus"
fi
if [ "$target" = serve ]; then
  meson compile -C build-fuzz tests/fuzz_serve >/dev/null
  corpus=build-fuzz/corpus-serve
  mkdir -p "$corpus"
  cp -n tests/fixtures/serve/* "$corpus"/
  exec ./build-fuzz/tests/fuzz_serve "${limit[@]}" -max_len=16384 \
    -artifact_prefix=build-fuzz/artifacts/ -print_final_stats=1 "$corpus"
fi
meson compile -C build-fuzz tests/fuzz_csv >/dev/null
corpus=build-fuzz/corpus-csv
mkdir -p "$corpus"
cp -n ../shared/data/real/heads/*.csv "$corpus"/ 2>/dev/null || true
cp -n tests/fixtures/*.csv "$corpus"/ 2>/dev/null || true
exec ./build-fuzz/tests/fuzz_csv "${limit[@]}" -max_len=8192 \
  -artifact_prefix=build-fuzz/artifacts/ -print_final_stats=1 "$corpus"

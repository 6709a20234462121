#!/usr/bin/env bash
# Fuzzes with libFuzzer (clang, ASan + UBSan) for SECONDS (default 60):
#   scripts/fuzz.sh [SECONDS]          the CSV reader, from the real file heads and the fixtures
#   scripts/fuzz.sh SECONDS serve      the API's request parsing, from tests/fixtures/serve
#   scripts/fuzz.sh SECONDS models R   the model directory's reader R: design, meta,
#                                      checksums, thresholds, or a family's name (prior,
#                                      softmax, xgboost, ...); seeded from a small train
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
if [ "$target" = models ]; then
  reader=${3:?scripts/fuzz.sh SECONDS models READER}
  meson compile -C build-fuzz tests/fuzz_models demographer:executable >/dev/null
  corpus=build-fuzz/corpus-models-$reader
  seeds=build-fuzz/seed-models
  if [ ! -d "$seeds/t-prior/models" ]; then
    # Seeds: one small train per family (gender only), so that each family's
    # model file is there; thresholds from campaigns on the first one.
    rm -rf "$seeds" && mkdir -p "$seeds"
    bin=./build-fuzz/demographer
    [ -x build/demographer ] && bin=build/demographer # faster without the sanitizers
    "$bin" synth --quiet --out "$seeds/d" --devices 600 --seed 3
    for f in prior brand-model-prior softmax liblinear-lr-l2 xgboost libsvm-svc phone-softmax \
             persona-softmax; do
      "$bin" train --quiet --no-snapshot "$seeds/d" --out "$seeds/t-$f" --folds 2 \
        --families "$f" --targets gender
    done
    "$bin" predict --quiet --no-snapshot "$seeds/d" --models "$seeds/t-prior" \
      --out "$seeds/p.csv" && "$bin" campaigns --quiet --predictions "$seeds/p.csv" \
      --out "$seeds/c" ||
      { echo "fuzz.sh: seeding the campaign and prediction readers failed (above)" >&2; exit 1; }
  fi
  mkdir -p "$corpus"
  python3 - "$seeds" "$corpus" "$reader" <<'PY'
import glob, os, sys
seeds, corpus, reader = sys.argv[1:]
def put(name, data):
    with open(os.path.join(corpus, name), 'wb') as f:
        f.write(data)
files = {'design': 'design.txt', 'meta': 'meta.txt'}
if reader in files:
    for p in glob.glob(seeds + '/t-*/models/*/' + files[reader]):
        put(p.split('/')[-4] + '-' + p.split('/')[-2], open(p, 'rb').read())
elif reader == 'checksums':
    for p in glob.glob(seeds + '/t-*/models/checksums.txt'):
        put(p.split('/')[-3], open(p, 'rb').read())
elif reader == 'thresholds':
    for p in glob.glob(seeds + '/c/thresholds.txt'):
        put('thresholds', open(p, 'rb').read())
else:
    for meta in glob.glob(seeds + '/t-*/models/*/meta.txt'):
        if ('family %s\n' % reader).encode() not in open(meta, 'rb').read():
            continue
        d = os.path.dirname(meta)
        main = open(d + '/model', 'rb').read()[:65535]
        inner = b''
        for ext in ('.prior', '.softmax', '.group12', '.combiner'):
            if os.path.exists(d + '/model' + ext):
                inner = open(d + '/model' + ext, 'rb').read()
                break
        put(d.split('/')[-3] + '-' + os.path.basename(d),
            len(main).to_bytes(2, 'little') + main + inner)
PY
  export DG_FUZZ_READER=$reader
  exec ./build-fuzz/tests/fuzz_models "${limit[@]}" -max_len=65536 \
    -artifact_prefix=build-fuzz/artifacts/models-"$reader"- -print_final_stats=1 "$corpus"
fi
meson compile -C build-fuzz tests/fuzz_csv >/dev/null
corpus=build-fuzz/corpus-csv
mkdir -p "$corpus"
cp -n ../shared/data/real/heads/*.csv "$corpus"/ 2>/dev/null || true
cp -n tests/fixtures/*.csv "$corpus"/ 2>/dev/null || true
exec ./build-fuzz/tests/fuzz_csv "${limit[@]}" -max_len=8192 \
  -artifact_prefix=build-fuzz/artifacts/ -print_final_stats=1 "$corpus"

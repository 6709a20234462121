#!/usr/bin/env bash
# Benchmark (not a test): demographer serve --models on a generated set of
# DEVICES (default 20000) devices with a fast model directory (prior and
# softmax, 2 folds), release build: the start-up time (load, clean,
# features with DBSCAN, every test device predicted) and, on one keep-alive
# connection, REQUESTS (default 2000) GETs of random test devices and as
# many POSTs of test devices described from their CSV rows (the one-device
# data set, cleaning, features and models per request). Sequential requests,
# so the figures are latency, not throughput (bench/serve.sh runs wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
devices=${DEVICES:-20000}
requests=${REQUESTS:-2000}
bash scripts/build.sh build-release --buildtype=release
bin=./build-release/demographer
out=bench/out/serve_models
rm -rf "$out"
mkdir -p "$out"
$bin synth --out "$out/data" --devices "$devices" --seed 7 >/dev/null 2>&1
$bin train "$out/data" --out "$out/train" --families prior,softmax --grid softmax:l2=3,30 \
  --folds 2 --no-charts --quiet --no-snapshot
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
t0=$(date +%s.%N)
$bin serve --models "$out/train" --data "$out/data" --port "$port" --quiet --no-snapshot \
  --no-access-log >"$out/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
until grep -q listening "$out/serve.log"; do
  kill -0 $pid 2>/dev/null || { cat "$out/serve.log"; exit 1; }
  sleep 0.05
done
t1=$(date +%s.%N)
echo "$devices devices; serve --models listening after $(/usr/bin/python3 -c "print(round($t1 - $t0, 2))") s (load, clean, features, $(($(wc -l <"$out/train/models/test_devices.csv") - 1)) test devices predicted)"
/usr/bin/python3 bench/serve_models_client.py "$port" "$out/data" \
  "$out/train/models/test_devices.csv" "$requests"

#!/usr/bin/env bash
# Benchmark (not a test): the prediction API under wrk on loopback, SECONDS
# (default 60) per contender, keep-alive, GET /v1/devices/{id} over random
# test devices, in one run:
#   - demographer serve --predictions (release build, one thread per core),
#   - the brief's Flask endpoint doing the same lookup (bench/serve_flask.py on
#     Debian's python3-flask, its built-in threaded server).
# Prints requests/s, p50/p99 latency and errors of each, and the ratios.
# The ids are the test devices of bench/out/full (bench/full_set.sh) when it
# exists, else 112,071 random 64-bit ids (the size of Kaggle's test set).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
conns=${CONNECTIONS:-32}
bash scripts/deps.sh
for p in wrk python3-flask; do
  dpkg-query -W -f='${Status}' $p 2>/dev/null | grep -q 'install ok installed' ||
    { apt-get update -qq && apt-get install -y -qq $p >/dev/null; }
done
bash scripts/build.sh build-release --buildtype=release
bin=./build-release/demographer
out=bench/out/serve
mkdir -p "$out"
if [ -f bench/out/full/gender_age_test.csv ]; then
  tail -n +2 bench/out/full/gender_age_test.csv | cut -d, -f1 >"$out/ids"
else
  /usr/bin/python3 -c 'import random
r = random.Random(1)
print("\n".join(str(r.randrange(-2**63, 2**63)) for _ in range(112071)))' >"$out/ids"
fi
/usr/bin/python3 bench/serve_predictions.py "$out/ids" "$out/predictions.csv"
echo "$(wc -l <"$out/ids") devices; wrk: 2 threads, $conns connections, ${secs} s each"

pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_up() { # URL
  for _ in $(seq 100); do $bin health --timeout 1 "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "no answer from $1" >&2; return 1
}
run_wrk() { # NAME PORT
  wrk -t2 -c"$conns" -d2s -s bench/serve_wrk.lua "http://127.0.0.1:$2" -- "$out/ids" >/dev/null
  wrk -t2 -c"$conns" -d"${secs}s" --latency -s bench/serve_wrk.lua "http://127.0.0.1:$2" \
    -- "$out/ids" >"$out/wrk-$1.txt"
}

port=$(free_port)
$bin serve --predictions "$out/predictions.csv" --port "$port" --no-access-log >"$out/serve.out" &
pids+=($!)
wait_up "http://127.0.0.1:$port/health"
run_wrk demographer "$port"
kill -TERM "${pids[0]}"
wait "${pids[0]}"

# The server's own time per request (from its request line to the answer's
# last byte handed to the kernel), from its access log over a shorter run:
# what wrk's latency adds on top is the client, the kernel and waiting for a core.
port=$(free_port)
$bin serve --predictions "$out/predictions.csv" --port "$port" --access-log "$out/access.log" \
  >/dev/null &
pids+=($!)
wait_up "http://127.0.0.1:$port/health"
: >"$out/access.log"
wrk -t2 -c"$conns" -d10s -s bench/serve_wrk.lua "http://127.0.0.1:$port" -- "$out/ids" >/dev/null
kill -TERM "${pids[1]}"
wait "${pids[1]}"
inside=$(grep -o ' us=[0-9]*' "$out/access.log" | cut -d= -f2 | sort -n |
  awk '{ v[NR] = $1 } END { printf "%d requests: p50 %.3f ms, p99 %.3f ms", NR,
                            v[int(NR * 0.5)] / 1000, v[int(NR * 0.99)] / 1000 }')

port=$(free_port)
/usr/bin/python3 bench/serve_flask.py "$out/predictions.csv" "$port" >"$out/flask.out" 2>&1 &
pids+=($!)
wait_up "http://127.0.0.1:$port/health"
run_wrk flask "$port"
kill -TERM "${pids[2]}"
wait "${pids[2]}" 2>/dev/null || true

# wrk's summary: Requests/sec, the latency distribution, and its error lines.
summary() { # FILE -> "rps p50_ms p99_ms errors"
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
                     if (v ~ /m$/) return v * 60000; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec:/ { rps = $2 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    /Socket errors:/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
    /Non-2xx or 3xx responses:/ { err += $5 }
    END { printf "%s %.3f %.3f %d\n", rps, p50, p99, err }' "$1"
}
read -r d_rps d_p50 d_p99 d_err < <(summary "$out/wrk-demographer.txt")
read -r f_rps f_p50 f_p99 f_err < <(summary "$out/wrk-flask.txt")
printf '%-22s %12s %10s %10s %8s\n' contender "requests/s" "p50 ms" "p99 ms" errors
printf '%-22s %12.0f %10.3f %10.3f %8d\n' "demographer serve" "$d_rps" "$d_p50" "$d_p99" "$d_err"
printf '%-22s %12.0f %10.3f %10.3f %8d\n' "Flask (threaded)" "$f_rps" "$f_p50" "$f_p99" "$f_err"
awk -v a="$d_rps" -v b="$f_rps" -v c="$d_p99" -v d="$f_p99" 'BEGIN {
  printf "throughput: %.1fx Flask; p99: %.1fx lower\n", a / b, d / c }'
echo "demographer's own time per request (access log, 10 s run): $inside"
echo "wrk's full output: $out/wrk-demographer.txt, $out/wrk-flask.txt"

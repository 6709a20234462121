#!/usr/bin/env bash
# Benchmark (not a test): two demographer binaries' `serve --predictions`
# against each other, and Flask, with wrk on loopback (GET /v1/devices/{id},
# keep-alive, 2 wrk threads, CONNECTIONS connections, default 32), in
# alternating runs of SECONDS (default 5) per contender, ROUNDS rounds
# (default 8; A then B in odd rounds, B then A in even ones, so a drift of
# the machine's speed hits both); Flask in the first two rounds only.
#   bench/serve_ab.sh A_BINARY B_BINARY
# e.g. A = a release build of an earlier commit, B = build-release/demographer.
# Prints each run's requests/s, p99 and the server's CPU time (user + sys,
# /proc) per request, and per round the ratios B/A: on a loaded machine the
# CPU time per request moves far less than the throughput.
set -euo pipefail
cd "$(dirname "$0")/.."
a_bin=$1 b_bin=$2
secs=${SECONDS_EACH:-5} rounds=${ROUNDS:-8} conns=${CONNECTIONS:-32}
out=bench/out/serve_ab
mkdir -p "$out"
/usr/bin/python3 -c 'import random
r = random.Random(1)
print("\n".join(str(r.randrange(-2**63, 2**63)) for _ in range(112071)))' >"$out/ids"
/usr/bin/python3 bench/serve_predictions.py "$out/ids" "$out/predictions.csv"
free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pa=$(free_port) pb=$(free_port) pf=$(free_port)
"$a_bin" serve --predictions "$out/predictions.csv" --port "$pa" --no-access-log >"$out/a.out" 2>&1 &
pids=($!)
"$b_bin" serve --predictions "$out/predictions.csv" --port "$pb" --no-access-log >"$out/b.out" 2>&1 &
pids+=($!)
/usr/bin/python3 bench/serve_flask.py "$out/predictions.csv" "$pf" >"$out/flask.out" 2>&1 &
pids+=($!)
trap 'kill "${pids[@]}" 2>/dev/null' EXIT
for p in "$pa" "$pb" "$pf"; do
  up=0
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$p/health" && { up=1; break; }; sleep 0.2; done
  [ "$up" = 1 ] || { echo "serve_ab.sh: the server on port $p did not answer /health in 20 s" \
    "(its output: $out/*.out)" >&2; exit 1; }
done
tick=$(getconf CLK_TCK)
cpu() { awk -v t="$tick" '{ print ($14 + $15) / t }' "/proc/$1/stat"; }
run() { # NAME PORT ROUND PID -> "requests/s cpu_us_per_request"
  local c0 c1
  c0=$(cpu "$4")
  wrk -t2 -c"$conns" -d"${secs}s" --latency -s bench/serve_wrk.lua "http://127.0.0.1:$2" \
    -- "$out/ids" >"$out/wrk-$1-$3.txt"
  c1=$(cpu "$4")
  local rps p99 n us
  rps=$(awk '/Requests\/sec:/ { print $2 }' "$out/wrk-$1-$3.txt")
  n=$(awk '/requests in/ { print $1 }' "$out/wrk-$1-$3.txt")
  us=$(awk -v n="$n" -v a="$c0" -v b="$c1" 'BEGIN { printf "%.1f", (b - a) / n * 1e6 }')
  p99=$(awk '$1 == "99%" { print $2 }' "$out/wrk-$1-$3.txt")
  # Requests per second over failed requests measure nothing: stop.
  if grep -qE 'Socket errors|Non-2xx' "$out/wrk-$1-$3.txt"; then
    echo "serve_ab.sh: round $3 $1 had failed requests:" \
      "$(grep -hE 'Socket errors|Non-2xx' "$out/wrk-$1-$3.txt" | tr '\n' ' ')" >&2
    exit 1
  fi
  echo "round $3 $1: $rps requests/s, p99 $p99, $us us CPU a request" >&2
  echo "$rps $us"
}
for r in $(seq "$rounds"); do
  if [ $((r % 2)) = 1 ]; then a=$(run A "$pa" "$r" "${pids[0]}"); b=$(run B "$pb" "$r" "${pids[1]}")
  else b=$(run B "$pb" "$r" "${pids[1]}"); a=$(run A "$pa" "$r" "${pids[0]}"); fi
  if [ "$r" -le 2 ]; then run flask "$pf" "$r" "${pids[2]}" >/dev/null; fi
  awk -v a="$a" -v b="$b" -v r="$r" 'BEGIN { split(a, x, " "); split(b, y, " ")
    printf "round %d: B/A requests/s %.2f, CPU a request %.2f\n", r, y[1] / x[1], y[2] / x[2] }'
done

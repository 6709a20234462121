#!/usr/bin/env bash
# Benchmark (not a test): the per-device features from a database, every row
# fetched (`features --db --raw`: load-db, then the local features) against the
# aggregation pushed down to the server (`features --db`).
#   bench/db.sh [DEVICES]   (default 186716, the full size: ~3.25 M events and
#                            ~32 M app events)
# Generates a Kaggle-shaped set, starts a private MariaDB (scripts/mariadb.sh),
# imports it with `demographer mysql-import`, and in one run measures for each
# way: wall seconds, the bytes the server sent (the server's Bytes_sent status
# before and after: the server is private, so that is the client's share) and
# demographer's peak RSS; checks that both ways wrote the same files. With
# DG_BENCH_SPIDER=1 it does the same through a Spider head over two data nodes
# (scripts/spider.sh). A third pair of rows puts a link capped at
# DG_BENCH_LINK_MBIT (default 100) between them (bench/link_proxy.py), for
# MariaDB and for each ClickHouse cluster.
# DG_BENCH_CLICKHOUSE=1 (the default) adds ClickHouse (scripts/clickhouse.sh): a
# coordinator with one shard, then with two: db-import --engine clickhouse
# seconds, features --db --engine clickhouse seconds, MiB received and peak RSS,
# and each shard's server CPU seconds for the features' queries
# (system.query_log), beside the local CSV path (features DATA_DIR
# --no-snapshot); the files are checked equal to the local ones. With
# DG_BENCH_MARIADB=0 the MariaDB rows are left out; with DG_BENCH_MARIADB=raw
# only MariaDB's raw pull on loopback is measured (no pushdown, no link rows).
# DG_BENCH_BIN picks the binary (default: a release build).
set -euo pipefail
cd "$(dirname "$0")/.."
devices=${1:-186716}
bash scripts/deps.sh test
if [ -n "${DG_BENCH_BIN:-}" ]; then
  bin=$DG_BENCH_BIN
else
  [ -f build-release/build.ninja ] || meson setup build-release --buildtype=release >/dev/null
  meson compile -C build-release demographer:executable >/dev/null
  bin=./build-release/demographer
fi
data=bench/out/kaggle-$devices
if [ ! -f "$data/.complete" ]; then
  echo "generating $devices devices (Kaggle shape) in $data ..." >&2
  $bin synth --quiet --out "$data" --devices "$devices" --seed 1
  touch "$data/.complete"
fi
work=$(mktemp -d /tmp/demographer-bench-db.XXXXXX)
# The servers run as mysql: they must be able to enter it.
chmod 0711 "$work"
dbdir=$work/mariadb
spdir=$work/spider
chdir=$work/clickhouse
# Best effort at exit: a server that will not stop is said, and the rest
# still cleaned up.
cleanup() {
  # Set only while the proxy runs (the link rows clear it once it is stopped).
  if [ -n "${proxy:-}" ]; then
    kill "$proxy" || echo "bench/db.sh: the link proxy ($proxy) did not stop" >&2
  fi
  if [ -d "$dbdir" ]; then
    bash scripts/mariadb.sh stop "$dbdir" || echo "bench/db.sh: the MariaDB in $dbdir did not stop" >&2
  fi
  if [ -d "$spdir" ]; then
    bash scripts/spider.sh stop "$spdir" || echo "bench/db.sh: the Spider cluster in $spdir did not stop" >&2
  fi
  if [ -d "$chdir" ]; then
    bash scripts/clickhouse.sh stop "$chdir" || echo "bench/db.sh: the ClickHouse cluster in $chdir did not stop" >&2
  fi
  rm -rf "$work"
}
trap cleanup EXIT
m() { /usr/bin/python3 bench/measure.py "$@"; }

# measure_both LABEL SOCKET HOST PORT USER PWFILE DB: prints two table rows.
measure_both() {
  local label=$1 sock=$2 conn=(--host "$3" --port "$4" --user "$5" --password-file "$6"
    --database "$7" --tls disabled)
  sent() { mariadb --no-defaults --socket="$sock" -u root -N -e \
    "SHOW GLOBAL STATUS LIKE 'Bytes_sent'" | cut -f2; }
  # One warm-up read so that both ways find the tables in the buffer pool.
  $bin load-db --quiet "${conn[@]}" >/dev/null
  local b0 b1 b2 raw_s raw_m pd_s pd_m
  b0=$(sent)
  read -r raw_s raw_m < <(m $bin features --db --raw --quiet "${conn[@]}" --out "$work/raw")
  b1=$(sent)
  if [ "${DG_BENCH_MARIADB:-1}" = raw ]; then
    awk -v l="$label" -v rs="$raw_s" -v rm="$raw_m" -v rb="$((b1 - b0))" 'BEGIN {
      printf "%-54s %9.2f %12.1f %10.0f\n", l " raw rows (--raw)", rs, rb / 1048576, rm }'
    return
  fi
  read -r pd_s pd_m < <(m $bin features --db --quiet "${conn[@]}" --out "$work/pushdown")
  b2=$(sent)
  for f in "$work"/raw/*; do
    cmp -s "$f" "$work/pushdown/$(basename "$f")" ||
      { echo "bench/db.sh: $label: $(basename "$f") differs between the two ways" >&2; exit 1; }
  done
  awk -v l="$label" -v rs="$raw_s" -v rm="$raw_m" -v ps="$pd_s" -v pm="$pd_m" \
    -v rb="$((b1 - b0))" -v pb="$((b2 - b1))" 'BEGIN {
    printf "%-54s %9.2f %12.1f %10.0f\n", l " raw rows (--raw)", rs, rb / 1048576, rm
    printf "%-54s %9.2f %12.1f %10.0f\n", l " pushdown", ps, pb / 1048576, pm
    printf "%-54s %8.1fx %11.1fx %9.2fx\n", l " raw / pushdown", rs / ps, rb / pb, rm / pm }'
}

# The link cap of the link rows (MariaDB's and ClickHouse's): loopback moves
# gigabytes a second, which no link to a remote cluster does.
# DG_BENCH_LINK_MBIT (default 100; 0: no such rows) caps what the server
# sends, through bench/link_proxy.py.
link_mbit=${DG_BENCH_LINK_MBIT:-100}
out=""
if [ "${DG_BENCH_MARIADB:-1}" != 0 ]; then
set -a
. "$(DG_MARIADB_BUFFER_POOL=${DG_MARIADB_BUFFER_POOL:-3G} bash scripts/mariadb.sh start "$dbdir")"
set +a
read -r imp_s _ < <(m $bin mysql-import --quiet "$data" --host "$DG_MYSQL_HOST" \
  --port "$DG_MYSQL_PORT" --user "$DG_MYSQL_USER" --password-file "$DG_MYSQL_PASSWORD_FILE" \
  --tls disabled)
echo "imported into MariaDB in $imp_s s" >&2
mariadb --no-defaults --socket="$DG_MYSQL_SOCKET" -u root mlctest -e "ANALYZE TABLE events, app_events" >/dev/null
rows=$(mariadb --no-defaults --socket="$DG_MYSQL_SOCKET" -u root mlctest -N -e \
  "SELECT (SELECT COUNT(*) FROM events), (SELECT COUNT(*) FROM app_events)")
out=$(measure_both MariaDB "$DG_MYSQL_SOCKET" "$DG_MYSQL_HOST" "$DG_MYSQL_PORT" \
  "$DG_MYSQL_USER" "$DG_MYSQL_PASSWORD_FILE" mlctest)

# The same server behind the capped link.
if [ "$link_mbit" != 0 ] && [ "${DG_BENCH_MARIADB:-1}" = 1 ]; then
  /usr/bin/python3 bench/link_proxy.py 127.0.0.1 "$DG_MYSQL_PORT" \
    "$((link_mbit * 1000000 / 8))" >"$work/proxy.port" &
  proxy=$!
  for _ in $(seq 50); do [ -s "$work/proxy.port" ] && break; sleep 0.1; done
  out+=$'\n'$(measure_both "MariaDB, $link_mbit Mbit/s link" "$DG_MYSQL_SOCKET" 127.0.0.1 \
    "$(cat "$work/proxy.port")" "$DG_MYSQL_USER" "$DG_MYSQL_PASSWORD_FILE" mlctest)
  kill "$proxy"
  proxy=
fi

if [ "${DG_BENCH_SPIDER:-0}" = 1 ]; then
  set -a
  . "$(bash scripts/spider.sh start "$spdir")"
  set +a
  mariadb --no-defaults --socket="$DG_SPIDER_SOCKET" -u root -e "CREATE DATABASE mlctest_stage"
  $bin mysql-import --quiet "$data" --host "$DG_SPIDER_HOST" --port "$DG_SPIDER_PORT" \
    --user "$DG_SPIDER_USER" --password-file "$DG_SPIDER_PASSWORD_FILE" \
    --database mlctest_stage --tls disabled
  bash scripts/spider.sh shard "$spdir" mlctest_stage
  out+=$'\n'$(measure_both "Spider (head + 2)" "$DG_SPIDER_SOCKET" "$DG_SPIDER_HOST" \
    "$DG_SPIDER_PORT" "$DG_SPIDER_USER" "$DG_SPIDER_PASSWORD_FILE" mlctest)
fi

fi

# ClickHouse features through URL into DIR: sets cf_s (seconds), cf_m (peak
# MiB) and cf_mib (MiB received), after checking the files equal the local path's.
ch_features() {
  local label=$1 url=$2 dir=$3
  read -r cf_s cf_m < <(m bash -c '"$@" >"$0"' "$work/ch.out" $bin features --db \
    --engine clickhouse --url "$url" --user "$DG_CH_USER" \
    --password-file "$DG_CH_PASSWORD_FILE" --database "$DG_CH_DB" --out "$dir")
  cf_mib=$(sed -n 's/.*: \([0-9.]*\) MiB received.*/\1/p' "$work/ch.out")
  # This runs in ch_row's subshell, whose exit the EXIT trap does not see.
  failed() {
    [ -z "${proxy:-}" ] || kill "$proxy"
    echo "bench/db.sh: $label: $1" >&2
    exit 1
  }
  [ -n "$cf_s" ] && [ -n "$cf_mib" ] || failed "features failed"
  for f in "$work"/local/*; do
    cmp -s "$f" "$dir/$(basename "$f")" || failed "$(basename "$f") differs from the local path's"
  done
  rm -rf "$dir"
}

# ClickHouse: LABEL SHARDS prints one row (import, features, MiB, RSS, CPU per
# shard), and with a link cap a second row: the same features through
# bench/link_proxy.py in front of the coordinator.
ch_row() {
  local label=$1 n=$2 env imp_s f_s f_m mib t0 cpu=""
  env=$(bash scripts/clickhouse.sh start "$chdir" --shards "$n")
  set -a
  . "$env"
  set +a
  local conn=(--engine clickhouse --url "$DG_CH_URL" --user "$DG_CH_USER"
    --password-file "$DG_CH_PASSWORD_FILE" --database "$DG_CH_DB")
  local shards=()
  for u in $DG_CH_SHARD_URLS; do shards+=(--shard-url "$u"); done
  read -r imp_s _ < <(m $bin db-import --quiet "$data" "${conn[@]}" "${shards[@]}")
  t0=$(date -u '+%F %T')
  ch_features "$label" "$DG_CH_URL" "$work/ch"
  f_s=$cf_s f_m=$cf_m mib=$cf_mib
  for u in $DG_CH_SHARD_URLS; do
    curl -fsS -H @"$DG_CH_DIR/headers" --data-binary 'SYSTEM FLUSH LOGS' "$u" >/dev/null
    cpu+="$(curl -fsS -H @"$DG_CH_DIR/headers" --data-binary "SELECT round(sum(ProfileEvents.Values[indexOf(ProfileEvents.Names, 'UserTimeMicroseconds')] + ProfileEvents.Values[indexOf(ProfileEvents.Names, 'SystemTimeMicroseconds')]) / 1e6, 2) FROM system.query_log WHERE type = 2 AND event_time >= toDateTime('$t0') AND query LIKE 'SELECT%' AND query NOT LIKE '%system.%'" "$u") "
  done
  local link_row=""
  if [ "$link_mbit" != 0 ]; then
    local port
    port=${DG_CH_URL##*:}
    port=${port%/}
    /usr/bin/python3 bench/link_proxy.py 127.0.0.1 "$port" \
      "$((link_mbit * 1000000 / 8))" >"$work/proxy.port" &
    proxy=$!
    for _ in $(seq 50); do [ -s "$work/proxy.port" ] && break; sleep 0.1; done
    ch_features "$label, $link_mbit Mbit/s link" "http://127.0.0.1:$(cat "$work/proxy.port")/" \
      "$work/ch-link"
    kill "$proxy"
    proxy=
    rm -f "$work/proxy.port"
    link_row=$(printf '%-54s %9.2f %12s %10.0f' "$label, $link_mbit Mbit/s link" "$cf_s" "$cf_mib" \
      "$cf_m")
  fi
  bash scripts/clickhouse.sh stop "$chdir"
  printf '%-54s %9.2f %12s %10.0f   import %.1f s, shard CPU s: %s\n' "$label" "$f_s" "$mib" "$f_m" "$imp_s" "$cpu"
  [ -z "$link_row" ] || echo "$link_row"
}

if [ "${DG_BENCH_CLICKHOUSE:-1}" = 1 ]; then
  read -r loc_s loc_m < <(m $bin features "$data" --no-snapshot --quiet --out "$work/local")
  out+=$'\n'$(printf '%-54s %9.2f %12s %10.0f' "local CSV files (features DATA_DIR)" "$loc_s" - "$loc_m")
  out+=$'\n'$(ch_row "ClickHouse, coordinator + 1 shard" 1)
  out+=$'\n'$(ch_row "ClickHouse, coordinator + 2 shards" 2)
fi
read -r nev nae <<<"${rows:-? ?}"
echo "$devices devices: $nev events, $nae app events; every way wrote the same files"
printf '%-54s %9s %12s %10s\n' way seconds "MiB sent" "peak MiB"
echo "${out#$'\n'}"

#!/usr/bin/env bash
# A ClickHouse cluster on loopback for the tests and benchmarks: a coordinator
# and N shards (default 2), one clickhouse-server each, under DIR.
#   scripts/clickhouse.sh start DIR [--shards N]
#       starts DIR/coord and DIR/s1 .. DIR/sN on free ports of 127.0.0.1, each
#       with its own data, a user `dg` with a random password (stored as its
#       sha256; only 127.0.0.1 may connect; no passwordless `default` user), the
#       time zone UTC, and on the coordinator the cluster `demographer` of the
#       N shards (one per server). Creates the database `demographer` on all.
#       Prints the path of DIR/env, shell assignments to source:
#         DG_CH_URL             the coordinator's HTTP URL
#         DG_CH_USER            dg
#         DG_CH_PASSWORD_FILE   DIR/password (0600)
#         DG_CH_DB              demographer
#         DG_CH_SHARD_URLS      the shards' HTTP URLs, space-separated (db-import
#                               creates the shards' tables through them)
#         DG_CH_DIR             DIR
#   scripts/clickhouse.sh stop-node DIR K    stops shard K (failure tests)
#   scripts/clickhouse.sh start-node DIR K   starts it again
#   scripts/clickhouse.sh stop DIR           stops all and removes DIR
# Installs nothing: scripts/deps.sh test installs clickhouse-server and
# clickhouse-client. The password is never printed nor passed as an argument.
set -euo pipefail
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop|stop-node|start-node DIR ..." >&2; exit 2; }
server=/usr/sbin/clickhouse-server

# The server's pid as start_node recorded it (18.16 writes --pid-file only
# when it daemonizes).
node_pid() { [ -f "$1/dg.pid" ] && cat "$1/dg.pid" 2>/dev/null || true; }

stop_node() { # DIR of one server
  local pid
  pid=$(node_pid "$1")
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || { rm -f "$1/dg.pid"; return 0; }; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$1/dg.pid"
}

start_node() { # DIR of one server; waits until it answers
  local d=$1 port
  port=$(cat "$d/http_port")
  # exec: the server replaces the subshell, and none of the caller's
  # descriptors stays open in it (a caller reading our output gets its end).
  (cd "$d" && exec setsid "$server" --config-file="$d/config.xml") \
    </dev/null >"$d/log/stdout.log" 2>&1 &
  echo $! >"$d/dg.pid"
  for _ in $(seq 1 300); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/ping" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "clickhouse.sh: the server of $d did not start (see $d/log)" >&2
  return 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

case "$cmd" in
stop)
  [ -d "$dir" ] || exit 0
  for d in "$dir"/s* "$dir"/coord; do [ -d "$d" ] && stop_node "$d"; done
  rm -rf "$dir"
  exit 0
  ;;
stop-node)
  k=${3:-}
  [[ "$k" =~ ^[0-9]+$ ]] && [ -d "$dir/s$k" ] || { echo "usage: $0 stop-node DIR K" >&2; exit 2; }
  stop_node "$dir/s$k"
  exit 0
  ;;
start-node)
  k=${3:-}
  [[ "$k" =~ ^[0-9]+$ ]] && [ -d "$dir/s$k" ] || { echo "usage: $0 start-node DIR K" >&2; exit 2; }
  start_node "$dir/s$k"
  exit 0
  ;;
start) ;;
*) echo "usage: $0 start|stop|stop-node|start-node DIR ..." >&2; exit 2 ;;
esac

shards=2
if [ "${3:-}" = --shards ]; then
  shards=${4:-}
  [[ "$shards" =~ ^[1-9][0-9]?$ ]] || { echo "clickhouse.sh: --shards expects 1..99" >&2; exit 2; }
fi
[ -x "$server" ] || { echo "clickhouse.sh: $server not found: apt-get install -y clickhouse-server clickhouse-client" >&2; exit 1; }

mkdir -p "$dir"
chmod 0700 "$dir"
umask 077
password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
printf '%s\n' "$password" >"$dir/password"
chmod 0600 "$dir/password"
sha=$(printf '%s' "$password" | sha256sum | cut -d' ' -f1)
# curl reads the headers from a file (-H @FILE): the password stays out of argv.
printf 'X-ClickHouse-User: dg\nX-ClickHouse-Key: %s\n' "$password" >"$dir/headers"

nodes=(coord)
for k in $(seq 1 "$shards"); do nodes+=("s$k"); done
for n in "${nodes[@]}"; do
  mkdir -p "$dir/$n/data" "$dir/$n/tmp" "$dir/$n/user_files" "$dir/$n/log" "$dir/$n/format_schemas"
  free_port >"$dir/$n/http_port"
  free_port >"$dir/$n/tcp_port"
  free_port >"$dir/$n/interserver_port"
done

{
  echo "<demographer>"
  for k in $(seq 1 "$shards"); do
    printf '<shard><replica><host>127.0.0.1</host><port>%s</port><user>dg</user><password>%s</password></replica></shard>\n' \
      "$(cat "$dir/s$k/tcp_port")" "$password"
  done
  echo "</demographer>"
} >"$dir/remote_servers.xml"

for n in "${nodes[@]}"; do
  d="$dir/$n"
  cat >"$d/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>8000000000</max_memory_usage><load_balancing>in_order</load_balancing><log_queries>1</log_queries></default></profiles>
  <users>
    <dg>
      <password_sha256_hex>$sha</password_sha256_hex>
      <networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </dg>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
XML
  {
    cat <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$d/log/server.log</log><errorlog>$d/log/error.log</errorlog><size>10M</size><count>2</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$(cat "$d/http_port")</http_port>
  <tcp_port>$(cat "$d/tcp_port")</tcp_port>
  <interserver_http_port>$(cat "$d/interserver_port")</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <path>$d/data/</path>
  <tmp_path>$d/tmp/</tmp_path>
  <user_files_path>$d/user_files/</user_files_path>
  <format_schema_path>$d/format_schemas/</format_schema_path>
  <users_config>$d/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  <query_log><database>system</database><table>query_log</table><flush_interval_milliseconds>1000</flush_interval_milliseconds></query_log>
XML
    if [ "$n" = coord ]; then
      echo "  <remote_servers>"
      cat "$dir/remote_servers.xml"
      echo "  </remote_servers>"
    else
      echo "  <remote_servers/>"
    fi
    echo "</yandex>"
  } >"$d/config.xml"
done
rm -f "$dir/remote_servers.xml"

for n in "${nodes[@]}"; do
  start_node "$dir/$n" || exit 1
done
for n in "${nodes[@]}"; do
  curl -fsS -H @"$dir/headers" \
    --data-binary 'CREATE DATABASE IF NOT EXISTS demographer' \
    "http://127.0.0.1:$(cat "$dir/$n/http_port")/" >/dev/null ||
    { echo "clickhouse.sh: $n refused CREATE DATABASE" >&2; exit 1; }
done
urls=""
for k in $(seq 1 "$shards"); do urls="$urls${urls:+ }http://127.0.0.1:$(cat "$dir/s$k/http_port")/"; done
cat >"$dir/env" <<ENV
DG_CH_URL=http://127.0.0.1:$(cat "$dir/coord/http_port")/
DG_CH_USER=dg
DG_CH_PASSWORD_FILE=$dir/password
DG_CH_DB=demographer
DG_CH_SHARD_URLS="$urls"
DG_CH_DIR=$dir
ENV
echo "$dir/env"

#!/usr/bin/env bash
# A MariaDB Spider cluster on loopback for the tests and benchmarks: a head node
# and two data nodes, three mariadbd instances each started by scripts/mariadb.sh
# (own datadir, socket, port, user dgtest with its own random password).
#   scripts/spider.sh start DIR     starts the three under DIR/head, DIR/n1, DIR/n2;
#                                   on the head: INSTALL SONAME 'ha_spider' and
#                                   CREATE SERVER s1, s2 for the data nodes. Prints
#                                   the path of DIR/env: DG_SPIDER_HOST, _PORT,
#                                   _USER, _DB (mlctest), _PASSWORD_FILE, _SOCKET
#                                   of the head, DG_SPIDER_DIR.
#   scripts/spider.sh shard DIR DB  turns every table of database DB on the head
#                                   (as mysql-import wrote it) into a table of the
#                                   head's mlctest with ENGINE=SPIDER, PARTITION BY
#                                   HASH of its device id (app_events: event id;
#                                   app_labels: app id; label_categories: label id),
#                                   one partition per data node, the rows copied
#                                   with INSERT ... SELECT through the head (so
#                                   Spider shards them), then drops DB. Tables
#                                   without mysql-import's dg_row keep their
#                                   primary key (export-sql's
#                                   dg_device_features).
#   scripts/spider.sh stop-node DIR N   stops data node N (1 or 2): failure tests.
#   scripts/spider.sh start-node DIR N  starts it again as it was.
#   scripts/spider.sh stop DIR      stops all three and removes DIR.
# Needs mariadb-plugin-spider (scripts/deps.sh test installs it). No password is
# printed or passed as an argument: the head learns the nodes' over its socket,
# on stdin.
set -euo pipefail
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|shard|stop-node|stop DIR ..." >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)

case "$cmd" in
stop)
  for n in n1 n2 head; do
    [ -d "$dir/$n" ] && bash "$here/mariadb.sh" stop "$dir/$n"
  done
  rm -rf "$dir"
  exit 0
  ;;
stop-node)
  n=${3:-}
  [ "$n" = 1 ] || [ "$n" = 2 ] || { echo "usage: $0 stop-node DIR 1|2" >&2; exit 2; }
  pid=$(cat "$dir/n$n/run/mariadbd.pid")
  # Its command line, for start-node.
  tr '\0' '\n' <"/proc/$pid/cmdline" >"$dir/n$n/cmdline"
  kill "$pid" || { echo "spider.sh: data node $n (pid $pid) is not running" >&2; exit 1; }
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
  echo "spider.sh: data node $n (pid $pid) did not stop within 10 s" >&2
  exit 1
  ;;
start-node)
  n=${3:-}
  [ -f "$dir/n$n/cmdline" ] || { echo "usage: $0 start-node DIR 1|2 (after stop-node)" >&2; exit 2; }
  mapfile -t argv <"$dir/n$n/cmdline"
  "${argv[@]}" </dev/null >/dev/null 2>&1 &
  sock="$dir/n$n/run/mysqld.sock"
  for _ in $(seq 1 300); do
    [ -S "$sock" ] && mariadb-admin --no-defaults --socket="$sock" -u root ping >/dev/null 2>&1 &&
      exit 0
    sleep 0.1
  done
  echo "spider.sh: data node $n did not start again" >&2
  exit 1
  ;;
start | shard) ;;
*) echo "usage: $0 start|shard|stop-node|start-node|stop DIR ..." >&2; exit 2 ;;
esac

command -v mariadbd >/dev/null || PATH=$PATH:/usr/sbin
head_sql() { mariadb --no-defaults --socket="$dir/head/run/mysqld.sock" -u root "$@"; }

if [ "$cmd" = start ]; then
  plugin_dir=$(mariadb_config --plugindir 2>/dev/null || echo /usr/lib/mysql/plugin)
  [ -f "$plugin_dir/ha_spider.so" ] || [ -f /usr/lib/mysql/plugin/ha_spider.so ] ||
    { echo "ha_spider.so not found: apt-get install -y mariadb-plugin-spider" >&2; exit 1; }
  mkdir -p "$dir"
  chmod 0711 "$dir"
  for n in head n1 n2; do
    bash "$here/mariadb.sh" start "$dir/$n" >/dev/null ||
      { echo "spider.sh: the $n node did not start" >&2; exit 1; }
  done
  port_of() { sed -n 's/^DG_MYSQL_PORT=//p' "$dir/$1/env"; }
  {
    echo "INSTALL SONAME 'ha_spider';"
    for k in 1 2; do
      # The password only travels on stdin, inside the statement.
      printf "CREATE SERVER s%s FOREIGN DATA WRAPPER mysql OPTIONS (HOST '127.0.0.1', PORT %s, USER 'dgtest', PASSWORD '%s', DATABASE 'mlctest');\n" \
        "$k" "$(port_of n$k)" "$(cat "$dir/n$k/password")"
    done
  } | head_sql
  # Spider's own tables are created on first use; make sure it is ready.
  for _ in $(seq 1 50); do
    head_sql -N -e "SELECT 1 FROM information_schema.ENGINES WHERE ENGINE='SPIDER' AND SUPPORT IN ('YES','DEFAULT')" 2>/dev/null | grep -q 1 && break
    sleep 0.2
  done
  cat >"$dir/env" <<ENV
DG_SPIDER_HOST=127.0.0.1
DG_SPIDER_PORT=$(port_of head)
DG_SPIDER_USER=dgtest
DG_SPIDER_DB=mlctest
DG_SPIDER_PASSWORD_FILE=$dir/head/password
DG_SPIDER_SOCKET=$dir/head/run/mysqld.sock
DG_SPIDER_DIR=$dir
ENV
  echo "$dir/env"
  exit 0
fi

# shard DIR DB
src=${3:-}
[[ "$src" =~ ^[A-Za-z0-9_]+$ ]] || { echo "usage: $0 shard DIR DB" >&2; exit 2; }
node_sql() { mariadb --no-defaults --socket="$dir/n$1/run/mysqld.sock" -u root mlctest; }
for t in $(head_sql -N -e "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA='$src' ORDER BY TABLE_NAME"); do
  [[ "$t" =~ ^[A-Za-z0-9_]+$ ]] || continue
  cols=$(head_sql -N -e "SELECT CONCAT('\`', COLUMN_NAME, '\` ', COLUMN_TYPE, IF(IS_NULLABLE='NO', ' NOT NULL', ' NULL')) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='$src' AND TABLE_NAME='$t' ORDER BY ORDINAL_POSITION" | paste -sd, -)
  names=$(head_sql -N -e "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='$src' AND TABLE_NAME='$t'")
  key=""
  for k in device_id event_id app_id label_id; do
    if grep -qx "$k" <<<"$names"; then key=$k; break; fi
  done
  [ -n "$key" ] || { echo "spider.sh: $src.$t has no id column to shard by" >&2; exit 1; }
  # mysql-import's tables are keyed by their row number (dg_row; the head's
  # key must also hold the partitioning column); any other table keeps its
  # own primary key, which must hold the device id.
  if grep -qx dg_row <<<"$names"; then
    node_key="\`dg_row\`"
    head_key="\`dg_row\`, \`$key\`"
  else
    node_key=$(head_sql -N -e "SELECT GROUP_CONCAT(CONCAT('\`', COLUMN_NAME, '\`') ORDER BY SEQ_IN_INDEX) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA='$src' AND TABLE_NAME='$t' AND INDEX_NAME='PRIMARY'")
    [ -n "$node_key" ] && [ "$node_key" != NULL ] || { echo "spider.sh: $src.$t has neither dg_row nor a primary key" >&2; exit 1; }
    head_key=$node_key
  fi
  for k in 1 2; do
    echo "DROP TABLE IF EXISTS \`$t\`; CREATE TABLE \`$t\` ($cols, PRIMARY KEY ($node_key)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;" | node_sql "$k"
  done
  head_sql mlctest <<SQL
DROP TABLE IF EXISTS \`$t\`;
CREATE TABLE \`$t\` ($cols, PRIMARY KEY ($head_key)) ENGINE=SPIDER
  DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin COMMENT='wrapper "mysql", table "$t"'
  PARTITION BY HASH (\`$key\`) (PARTITION p1 COMMENT = 'srv "s1"', PARTITION p2 COMMENT = 'srv "s2"');
INSERT INTO \`$t\` SELECT * FROM \`$src\`.\`$t\`;
SQL
done
head_sql -e "DROP DATABASE \`$src\`"

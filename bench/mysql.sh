#!/usr/bin/env bash
# Benchmark (not a test): reading the brief's four MySQL tables (train,
# brand_device, events, app_events) from a local MariaDB.
#   bench/mysql.sh [DEVICES]     (default 186716, the full size: ~3.25 M events and
#                                 ~32 M app events)
# Generates an Upgrad-shaped set, starts a private MariaDB (scripts/mariadb.sh),
# imports the set with `demographer mysql-import` (timed), keeps the four tables,
# then in one run measures wall time and peak RSS of
#   - demographer load-db (plain TCP, and TLS),
#   - pandas.read_sql over PyMySQL (python3-pandas, python3-pymysql),
# and prints rows/s and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
devices=${1:-186716}
bash scripts/deps.sh test
for p in python3-pandas python3-pymysql; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
    { apt-get update -qq && apt-get install -y -qq "$p" >/dev/null; }
done
# Only the program: the benchmark needs no tests, and -O3 warns about some of them.
[ -f build-release/build.ninja ] || meson setup build-release --buildtype=release >/dev/null
meson compile -C build-release demographer:executable >/dev/null
bin=./build-release/demographer
data=bench/out/upgrad-$devices
if [ ! -f "$data/.complete" ]; then
  echo "generating $devices devices (Upgrad shape) in $data ..."
  $bin synth --quiet --out "$data" --devices "$devices" --seed 1 --shape upgrad
  touch "$data/.complete"
fi
dbdir=$(mktemp -d /tmp/demographer-bench-mariadb.XXXXXX)
trap 'bash scripts/mariadb.sh stop "$dbdir"' EXIT
set -a
. "$(DG_MARIADB_BUFFER_POOL=${DG_MARIADB_BUFFER_POOL:-3G} bash scripts/mariadb.sh start "$dbdir")"
set +a
conn=(--host "$DG_MYSQL_HOST" --port "$DG_MYSQL_PORT" --user "$DG_MYSQL_USER"
  --password-file "$DG_MYSQL_PASSWORD_FILE")
m() { /usr/bin/python3 bench/measure.py "$@"; }
read -r imp_s imp_m < <(m $bin mysql-import --quiet "$data" "${conn[@]}" --tls disabled)
echo "imported in $imp_s s" >&2
mariadb --no-defaults --socket="$DG_MYSQL_SOCKET" -u root mlctest -e \
  "DROP TABLE IF EXISTS app_labels, label_categories, train_test_split, gender_age_test;
   ANALYZE TABLE train, brand_device, events, app_events" >/dev/null
rows=$(mariadb --no-defaults --socket="$DG_MYSQL_SOCKET" -u root mlctest -N -e \
  "SELECT (SELECT COUNT(*) FROM train) + (SELECT COUNT(*) FROM brand_device) +
          (SELECT COUNT(*) FROM events) + (SELECT COUNT(*) FROM app_events)")
# One warm-up read so that every contender finds the tables in the buffer pool.
$bin load-db --quiet "${conn[@]}" --tls disabled >/dev/null
read -r dg_s dg_m < <(m $bin load-db --quiet "${conn[@]}" --tls disabled)
read -r dgt_s dgt_m < <(m $bin load-db --quiet "${conn[@]}" --tls required)
echo "demographer: $dg_s s, $dg_m MiB; with TLS $dgt_s s, $dgt_m MiB; now pandas" >&2
read -r pd_s pd_m < <(m /usr/bin/python3 bench/read_sql_pandas.py "$DG_MYSQL_HOST" \
  "$DG_MYSQL_PORT" "$DG_MYSQL_USER" "$DG_MYSQL_DB" "$DG_MYSQL_PASSWORD_FILE")
echo "$devices devices: $rows rows in train, brand_device, events and app_events"
printf 'mysql-import of the whole set: %.1f s, peak %.0f MiB\n' "$imp_s" "$imp_m"
printf '%-34s %9s %12s %12s\n' contender seconds "rows/s" "peak MiB"
for row in "demographer load-db (plain TCP)|$dg_s|$dg_m" "demographer load-db (TLS)|$dgt_s|$dgt_m" \
  "pandas.read_sql via PyMySQL|$pd_s|$pd_m"; do
  IFS='|' read -r name s mem <<<"$row"
  awk -v n="$name" -v s="$s" -v m="$mem" -v r="$rows" \
    'BEGIN { printf "%-34s %9.2f %12.0f %12.0f\n", n, s, r / s, m }'
done
awk -v a="$dg_s" -v b="$pd_s" -v c="$dg_m" -v d="$pd_m" 'BEGIN {
  printf "demographer over pandas: %.1fx the speed, %.2f of the memory\n", b / a, c / d }'

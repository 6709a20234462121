#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite three ways:
# the normal build, under AddressSanitizer + UndefinedBehaviorSanitizer, and
# the parser and data-layer tests under valgrind. Ends with "N passed, N failed".
# A private MariaDB (scripts/mariadb.sh) and a Spider cluster (scripts/spider.sh: a
# head and two data nodes) run on loopback for the MySQL tests, and a ClickHouse
# cluster (scripts/clickhouse.sh: a coordinator and two shards) for the ClickHouse
# ones; all are stopped at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh test || exit 1
# Warnings are errors here and in CI, not as a project default (another
# compiler or other flags must still build).
bash scripts/build.sh build -Dwerror=true -Dtests=enabled || exit 1
bash scripts/build.sh build-asan -Dwerror=true -Dtests=enabled \
  -Db_sanitize=address,undefined -Db_lundef=false --buildtype=debug || exit 1

dbdir=$(mktemp -d /tmp/demographer-mariadb.XXXXXX)
spiderdir=$(mktemp -d /tmp/demographer-spider.XXXXXX)
chdir=$(mktemp -d /tmp/demographer-clickhouse.XXXXXX)
trap 'bash scripts/mariadb.sh stop "$dbdir"; bash scripts/spider.sh stop "$spiderdir"; bash scripts/clickhouse.sh stop "$chdir"' EXIT
envfile=$(bash scripts/mariadb.sh start "$dbdir") || exit 1
# A Spider head and two data nodes for features --db (tests/test_pushdown.c).
spiderenv=$(bash scripts/spider.sh start "$spiderdir") || exit 1
# A ClickHouse coordinator and two shards for features --db --engine clickhouse.
chenv=$(bash scripts/clickhouse.sh start "$chdir") || exit 1
set -a
# shellcheck disable=SC1090
. "$envfile"
# shellcheck disable=SC1090
. "$spiderenv"
# shellcheck disable=SC1090
. "$chenv"
set +a
# The servers are up: a test that finds one missing fails instead of skipping.
export DG_TEST_SERVERS=1

export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
meson test -C build --print-errorlogs --num-processes 2
meson test -C build-asan --print-errorlogs --num-processes 2
meson test -C build --print-errorlogs --num-processes 2 --logbase valgrind \
  --wrapper 'valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite' \
  strpool csv dataset snapshot clean eda features describe ui reconcile sources dbscan serve \
  report

/usr/bin/python3 scripts/tap_summary.py build/meson-logs/testlog.json \
  build-asan/meson-logs/testlog.json build/meson-logs/valgrind-valgrind.json

#!/usr/bin/env bash
# Installs the Debian 12 packages demographer needs that are missing.
#   scripts/deps.sh          what building and running needs
#   scripts/deps.sh test     also what the test suite needs
set -euo pipefail

# Every library the binary links directly has its -dev package named here,
# not left to another package's dependencies (tests/deps_guard.py checks it).
pkgs=(build-essential meson ninja-build pkg-config python3
  libncurses-dev libcairo2-dev libpango1.0-dev libglib2.0-dev libfontconfig-dev
  fonts-wqy-microhei
  libmariadb-dev libcurl4-openssl-dev libinih-dev
  liblinear-dev libsvm-dev liblbfgs-dev libxgboost-dev libjansson-dev
  libxxhash-dev)
if [ "${1:-}" = test ]; then
  # mariadb-server and -client for the MySQL tests (scripts/mariadb.sh), the Spider
  # plugin for the three-node cluster of scripts/spider.sh, openssl for
  # their TLS certificate, python3 for the loopback HTTP server, tmux for the screen
  # tests, mandoc for the man page check, chromium to open report.html headless
  # (tests/browser_report.py: about 16 s on two busy cores), clickhouse-server and
  # -client for the ClickHouse cluster of scripts/clickhouse.sh, curl for its pings
  # and table set-up over HTTP.
  pkgs+=(libcmocka-dev valgrind tmux mandoc mariadb-server mariadb-client mariadb-plugin-spider
    openssl chromium clickhouse-server clickhouse-client curl)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

#!/usr/bin/env bash
# Configures (once) and builds demographer in DIR (default build) with the
# meson options given after it, e.g. scripts/build.sh build-asan -Db_sanitize=address,undefined
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" "$@" >/dev/null
fi
# Quiet when it works; the whole compiler output when it does not.
meson compile -C "$dir" >"$dir/compile.log" 2>&1 || { cat "$dir/compile.log"; exit 1; }

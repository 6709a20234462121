#!/usr/bin/env bash
# Configures (once) and builds demographer in DIR (default build) with the
# meson options given after it, e.g. scripts/build.sh build-asan -Db_sanitize=address,undefined
# meson's and the compiler's messages reach the user: a failed setup or compile
# prints why on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
if [ ! -f "$dir/build.ninja" ]; then
  # A folder left by a setup that failed is set up again from nothing.
  rm -rf "$dir"
  log=$(mktemp)
  if ! meson setup "$dir" "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "build.sh: meson setup $dir failed (above)" >&2
    exit 1
  fi
  rm -f "$log"
fi
# Quiet when it works; the whole compiler output when it does not.
meson compile -C "$dir" >"$dir/compile.log" 2>&1 || {
  cat "$dir/compile.log" >&2
  echo "build.sh: meson compile -C $dir failed (above)" >&2
  exit 1
}

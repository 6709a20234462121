#!/usr/bin/env bash
# Benchmark (not a test): demographer maps on the full-size generated set
# (the three PNGs of 100,000-event samples), against demographer clean alone
# in the same run, so that the difference is what sampling and drawing cost,
# and against the same maps made with pandas and matplotlib
# (bench/maps_pandas.py, without a basemap).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/full_set.sh
dpkg-query -W -f='${Status}' python3-matplotlib 2>/dev/null | grep -q 'install ok installed' ||
  { apt-get update -qq && apt-get install -y -qq python3-matplotlib >/dev/null; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
$bin load --quiet --cache-dir "$out/cache" "$data" >/dev/null # the snapshot, once
read -r c_s c_m < <(m $bin clean --quiet --cache-dir "$out/cache" "$data")
read -r p_s p_m < <(m $bin maps --quiet --cache-dir "$out/cache" --out "$out/maps" "$data")
read -r y_s y_m < <(m /usr/bin/python3 bench/maps_pandas.py "$data" "$out/maps-pandas")
printf '%-42s %9s %10s\n' stage seconds "peak MiB"
printf '%-42s %9.2f %10.0f\n' "demographer clean (snapshot load+clean)" "$c_s" "$c_m"
printf '%-42s %9.2f %10.0f\n' "demographer maps (load+clean+2 samples+3 PNGs)" "$p_s" "$p_m"
printf '%-42s %9.2f %10.0f\n' "pandas + matplotlib (no basemap)" "$y_s" "$y_m"
awk -v c="$c_s" -v p="$p_s" -v y="$y_s" -v pm="$p_m" -v ym="$y_m" 'BEGIN {
  printf "sampling and drawing the three maps: %.2f s\n", p - c
  printf "demographer maps: %.1fx faster than pandas + matplotlib, %.2f of its peak memory\n", y / p, pm / ym }'
ls -l "$out/maps" "$out/maps-pandas"

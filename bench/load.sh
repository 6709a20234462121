#!/usr/bin/env bash
# Benchmark (not a test): loading the full-size data set.
# Generates it once (186,716 devices: ~3.25 M events, ~32 M app events) into
# bench/out/full, then, in one run on a warm page cache, measures wall time and
# peak RSS of
#   - demographer load from CSV (--no-snapshot),
#   - demographer load from its snapshot,
#   - pandas.read_csv of the same files (Debian's python3-pandas),
# and prints the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/full_set.sh
du -sh "$data"
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
read -r csv_s csv_m < <(m $bin load --quiet --no-snapshot "$data")
# A snapshot is trusted only for files older than it by 2 s (fresh data may
# still be changing): wait that out when the data was just generated.
sleep 2
m $bin load --quiet --cache-dir "$cache" "$data" >/dev/null  # writes the snapshot
read -r snap_s snap_m < <(m $bin load --quiet --cache-dir "$cache" "$data")
read -r pd_s pd_m < <(m /usr/bin/python3 bench/load_pandas.py "$data")
$bin load --quiet --cache-dir "$cache" "$data" | head -1
printf '%-28s %9s %12s\n' contender seconds "peak MiB"
printf '%-28s %9.2f %12.0f\n' "demographer load (CSV)" "$csv_s" "$csv_m"
printf '%-28s %9.2f %12.0f\n' "demographer load (snapshot)" "$snap_s" "$snap_m"
printf '%-28s %9.2f %12.0f\n' "pandas.read_csv" "$pd_s" "$pd_m"
awk -v a="$csv_s" -v b="$pd_s" -v c="$csv_m" -v d="$pd_m" -v s="$snap_s" 'BEGIN {
  printf "speed-up over pandas: %.1fx (CSV), %.1fx (snapshot); memory: %.2f of pandas\n",
         b / a, b / s, c / d }'

#!/usr/bin/env bash
# Benchmark (not a test): loading the full-size data set.
# Generates it once (186,716 devices: ~3.25 M events, ~32 M app events) into
# bench/out/full, then, in one run on a warm page cache, measures wall time and
# peak RSS of
#   - demographer load from CSV (--no-snapshot),
#   - demographer load from its snapshot (5 runs: each, and the median, against
#     the 0.6 s budget; with the part of the load spent verifying the snapshot's
#     XXH3 checksums, as load reports it),
#   - pandas.read_csv of the same files (Debian's python3-pandas),
# and prints the ratios. BENCH_SNAPSHOT_ONLY=1 measures the snapshot reload
# alone (no CSV load, no pandas, which is then not installed).
set -euo pipefail
cd "$(dirname "$0")/.."
snapshot_only=${BENCH_SNAPSHOT_ONLY:-0}
[ "$snapshot_only" = 1 ] && export BENCH_NO_PANDAS=1
. bench/full_set.sh
du -sh "$data"
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
[ "$snapshot_only" = 1 ] || read -r csv_s csv_m < <(m $bin load --quiet --no-snapshot "$data")
# A snapshot is trusted only for files older than it by 2 s (fresh data may
# still be changing): wait that out when the data was just generated.
sleep 2
m $bin load --quiet --cache-dir "$cache" "$data" >/dev/null  # writes the snapshot
ls -l "$cache"/*.dgsnap | awk '{printf "snapshot: %.0f MiB\n", $5 / 1048576}'
runs=()
for i in 1 2 3 4 5; do
  read -r s snap_m < <(m $bin load --quiet --cache-dir "$cache" "$data")
  runs+=("$s")
done
snap_s=$(printf '%s\n' "${runs[@]}" | sort -n | sed -n 3p)
echo "snapshot reloads (s): ${runs[*]}; median $snap_s"
# In process: the load's own time and the part of it spent on checksums.
$bin load --quiet --cache-dir "$cache" "$data" | head -1
if [ "$snapshot_only" != 1 ]; then
  read -r pd_s pd_m < <(m /usr/bin/python3 bench/load_pandas.py "$data")
fi
printf '%-28s %9s %12s\n' contender seconds "peak MiB"
[ "$snapshot_only" = 1 ] || printf '%-28s %9.2f %12.0f\n' "demographer load (CSV)" "$csv_s" "$csv_m"
printf '%-28s %9.2f %12.0f\n' "demographer load (snapshot)" "$snap_s" "$snap_m"
if [ "$snapshot_only" != 1 ]; then
  printf '%-28s %9.2f %12.0f\n' "pandas.read_csv" "$pd_s" "$pd_m"
  awk -v a="$csv_s" -v b="$pd_s" -v c="$csv_m" -v d="$pd_m" -v s="$snap_s" 'BEGIN {
    printf "speed-up over pandas: %.1fx (CSV), %.1fx (snapshot); memory: %.2f of pandas\n",
           b / a, b / s, c / d }'
fi
awk -v s="$snap_s" 'BEGIN { printf "snapshot reload budget 0.60 s: %s (median %.2f s)\n",
                            s <= 0.6 ? "within" : "OVER", s }'

#!/usr/bin/env bash
# Benchmark (not a test): cleaning + the ten EDA tables + features on the
# full-size generated set, demographer against the same computations in
# pandas (bench/pipeline_pandas.py), in one run: wall time and peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/full_set.sh
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# demographer: one process per stage, each loading (from the snapshot after
# the first) and cleaning, as a user would run them.
$bin load --quiet --cache-dir "$out/cache" "$data" >/dev/null
read -r c_s c_m < <(m $bin clean --quiet --cache-dir "$out/cache" "$data")
read -r e_s e_m < <(m $bin eda --quiet --cache-dir "$out/cache" --out "$out/eda" "$data")
read -r f_s f_m < <(m $bin features --quiet --cache-dir "$out/cache" --out "$out/feat" "$data")
read -r p_s p_m < <(m /usr/bin/python3 bench/pipeline_pandas.py "$data")
printf '%-34s %9s %10s\n' stage seconds "peak MiB"
printf '%-34s %9.2f %10.0f\n' "demographer clean" "$c_s" "$c_m"
printf '%-34s %9.2f %10.0f\n' "demographer eda (load+clean+10)" "$e_s" "$e_m"
printf '%-34s %9.2f %10.0f\n' "demographer features (load+clean)" "$f_s" "$f_m"
printf '%-34s %9.2f %10.0f\n' "pandas: load+clean+10 tables+features" "$p_s" "$p_m"
awk -v c="$c_s" -v e="$e_s" -v f="$f_s" -v p="$p_s" -v fm="$f_m" -v em="$e_m" -v pm="$p_m" 'BEGIN {
  printf "demographer eda+features together: %.2f s (%.1fx faster than pandas), peak %.0f MiB (%.2f of pandas)\n",
         e + f, p / (e + f), (fm > em ? fm : em), (fm > em ? fm : em) / pm }'

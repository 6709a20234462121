#!/usr/bin/env bash
# DBSCAN: demographer cluster against scikit-learn's DBSCAN(metric='haversine',
# algorithm='ball_tree') on the same points, in one run: a 100k and a 1M
# sample of the raw events (about 30% at the (0,0) placeholder: the case where
# scikit-learn's neighbour lists explode), a 100k sample of the cleaned set and
# the full cleaned set (the events whose location was observed, after the
# default cleaning rules). Both sides
# read the same CSV file and must find the same clusters, core and noise
# points. Wall time and peak RSS of each whole process (bench/measure.py).
# scikit-learn runs under an address-space cap and a time cap, so that it
# fails honestly instead of taking the shared machine down.
#   bash bench/dbscan.sh            results in bench/out/dbscan/results.txt
# Environment: EPS_KM (1.2), MIN_PTS (10), SK_CAP_GIB (10), SK_TIME_S (600).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/full_set.sh
eps=${EPS_KM:-1.2}
minpts=${MIN_PTS:-10}
cap_gib=${SK_CAP_GIB:-10}
time_s=${SK_TIME_S:-600}
out=bench/out/dbscan
mkdir -p "$out"
res=$out/results.txt
: >"$res"
say() { echo "$*" | tee -a "$res"; }

# The point sets, each a folder with one events.csv.
header=event_id,device_id,timestamp,longitude,latitude
for n in 100000 1000000; do
  d=$out/raw-$n
  if [ ! -f "$d/events.csv" ]; then
    mkdir -p "$d"
    { echo "$header"; tail -n +2 "$data/events.csv" |
        shuf -n "$n" --random-source=<(yes 1); } >"$d/events.csv"
  fi
done
d=$out/cleaned
if [ ! -f "$d/events.csv" ]; then
  $bin clean "$data" --quiet --no-snapshot --out "$out/clean-all" >/dev/null
  mkdir -p "$d"
  # location 0: observed (not a placeholder, not imputed).
  awk -F, -v h="$header" 'NR == 1 { print h; next } $6 == 0 { print $1","$2","$3","$4","$5 }' \
    "$out/clean-all/events.csv" >"$d/events.csv"
  rm -rf "$out/clean-all"
fi
d=$out/cleaned-100000
if [ ! -f "$d/events.csv" ]; then
  mkdir -p "$d"
  { echo "$header"; tail -n +2 "$out/cleaned/events.csv" |
      shuf -n 100000 --random-source=<(yes 1); } >"$d/events.csv"
fi

say "DBSCAN eps $eps km, min_pts $minpts; scikit-learn capped at $cap_gib GiB address space and $time_s s"
say "$(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB RAM shared with other work"
for set in raw-100000 raw-1000000 cleaned-100000 cleaned; do
  csv=$out/$set/events.csv
  say ""
  say "== $set: $(($(wc -l <"$csv") - 1)) points"
  $bin cluster "$out/$set" --no-clean --no-snapshot --quiet --eps "$eps" --min-pts "$minpts" \
    >"$out/$set.dg.txt"
  say "demographer: $(tail -n +1 "$out/$set.dg.txt" | tr '\n' ' ')"
  dg=$(m $bin cluster "$out/$set" --no-clean --no-snapshot --quiet --eps "$eps" --min-pts "$minpts")
  say "demographer: wall ${dg% *} s, peak ${dg#* } MiB"
  rm -f "$out/$set.sk.txt"
  set +e
  sk=$(timeout --signal=KILL "$time_s" prlimit --as=$((cap_gib * 1024 * 1024 * 1024)) \
    /usr/bin/python3 bench/measure.py /usr/bin/python3 bench/dbscan_sklearn.py "$csv" "$eps" "$minpts" \
    "$out/$set.sk.txt" 2>"$out/$set.sk.err")
  rc=$?
  set -e
  if [ $rc -eq 0 ]; then
    say "$(cat "$out/$set.sk.txt")"
    say "sklearn: wall ${sk% *} s, peak ${sk#* } MiB"
    # The same clusters, core points and noise on both sides?
    ours=$(sed -n 's/.*: \([0-9]*\) clusters, \([0-9]*\) core events, \([0-9]*\) noise events.*/\1 \2 \3/p' \
      "$out/$set.dg.txt")
    theirs=$(sed -n 's/.*clusters \([0-9]*\), core points \([0-9]*\), noise points \([0-9]*\),.*/\1 \2 \3/p' \
      "$out/$set.sk.txt")
    if [ "$ours" = "$theirs" ]; then
      say "agreement: clusters, core and noise points equal ($ours)"
    else
      say "DISAGREEMENT: demographer '$ours', scikit-learn '$theirs' (clusters core noise)"
    fi
    awk -v a="${dg% *}" -v b="${sk% *}" -v c="${dg#* }" -v e="${sk#* }" \
      'BEGIN { printf "ratio: %.1fx faster, %.1fx less memory\n", b / a, e / c }' | tee -a "$res"
  elif [ $rc -eq 137 ]; then
    say "sklearn: over $time_s s (killed)"
  elif grep -q MemoryError "$out/$set.sk.err"; then
    say "sklearn: out of memory at cap $cap_gib GiB ($(grep -m1 MemoryError "$out/$set.sk.err" | cut -c1-120))"
  else
    say "sklearn: failed (exit $rc): $(tail -1 "$out/$set.sk.err")"
  fi
done

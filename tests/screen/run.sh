#!/usr/bin/env bash
# Screen tests of the workbench, in tmux: each starts demographer in a pane of
# a fixed size on a small generated data set, sends keys, captures the pane
# and compares it with tests/screen/expected/NAME.txt after masking what
# varies (the temporary folder, timings). Prints TAP. Waits by polling the
# pane for the text a step should produce (with a timeout), never by fixed
# sleeps, so a slow machine only makes it slower.
#   UPDATE=1 tests/screen/run.sh   rewrites the expected screens
set -u
here=$(cd "$(dirname "$0")" && pwd)
expected=$here/expected
bin=${DG_BIN:?DG_BIN names the demographer binary}
# Always under /tmp: the data path shows on screen, so its length must not vary.
work=$(mktemp -d /tmp/dgscreen.XXXXXX)
sock=dgscreen$$
T() { tmux -L "$sock" "$@"; }
cleanup() { T kill-server 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }

export LANG=C.UTF-8 LC_ALL=C.UTF-8
"$bin" synth --out "$work/data" --devices 2000 --seed 1 --quiet || { echo "1..0 # synth failed"; exit 1; }
# Old enough that the snapshot of a first load is never "racy" (written within
# 2 s of its CSV files), so whether a later load reads it does not depend on speed.
touch -d "2020-01-01 00:00" "$work/data"/*

# start NAME COLSxROWS [ENV...]: a tmux session running the workbench.
start() {
    local name=$1 size=$2
    shift 2
    local cols=${size%x*} rows=${size#*x}
    if ! T has-session 2>/dev/null; then
        T -f /dev/null new-session -d -s keep -x 20 -y 5 "sleep 3600"
        T set -g remain-on-exit on
    fi
    # Relative --out and --log (run from $work), so the saved paths on the
    # status line read the same whatever the folder.
    T new-session -d -s "$name" -x "$cols" -y "$rows" -c "$work" \
        "env XDG_CACHE_HOME=$work/cache NO_COLOR=1 $* $bin --out out-$name \
         --log $name.log $work/data; echo EXIT=\$?; sleep 3600"
}

# The pane's text with what varies masked.
screen() {
    T capture-pane -p -t "$1" | sed -e "s|$work|WORK|g" -e 's/[[:space:]]*$//' \
        -e 's/^ \([a-z]*ing\)[ :].* Esc cancels$/ \1 [PROGRESS MASKED] Esc cancels/' \
        -e 's/\b[0-9]\+\.[0-9]\+ s\b/#.## s/g'
}

# wait_for SESSION TEXT [SECONDS]: polls until TEXT shows, then until the
# screen holds still (two equal captures); fails after the timeout.
wait_for() {
    local s=$1 text=$2 limit=${3:-15} t0=$SECONDS prev="" cur
    while :; do
        cur=$(screen "$s")
        if grep -qF -- "$text" <<<"$cur"; then
            [ "$cur" = "$prev" ] && return 0
            prev=$cur
        fi
        if ((SECONDS - t0 > limit)); then
            last_screen=$cur
            return 1
        fi
        sleep 0.05
    done
}

# check SESSION NAME TEXT: waits for TEXT and compares with expected/NAME.txt.
check() {
    local s=$1 name=$2 text=$3 file=$expected/$2.txt
    if ! wait_for "$s" "$text"; then
        mapfile -t lines <<<"$last_screen"
        notok "$name (no '$text' on screen)" "${lines[@]}"
        return
    fi
    if [ "${UPDATE:-0}" = 1 ]; then
        screen "$s" >"$file"
        ok "$name (expected screen written)"
        return
    fi
    local d
    if d=$(diff -u "$file" <(screen "$s")); then
        ok "$name"
    else
        mapfile -t lines <<<"$d"
        notok "$name" "${lines[@]}"
    fi
}

keys() { local s=$1; shift; T send-keys -t "$s" "$@"; }

# The PNG's signature, its IHDR size, and pixels that are not all one colour.
png_ok() {
    python3 - "$1" "$2" "$3" <<'PY'
import struct, sys, zlib
path, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
d = open(path, 'rb').read()
assert d[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
pw, ph = struct.unpack('>II', d[16:24])
assert (pw, ph) == (w, h), f'{pw}x{ph}, not {w}x{h}'
i, idat = 8, b''
while i < len(d):
    n, kind = struct.unpack('>I4s', d[i:i + 8])
    if kind == b'IDAT':
        idat += d[i + 8:i + 8 + n]
    i += 12 + n
raw = zlib.decompress(idat)
stride = len(raw) // ph
colours = set()
for y in range(0, ph, 7):
    row = raw[y * stride + 1:(y + 1) * stride]
    for x in range(0, len(row) - 3, 4 * 5):
        colours.add(row[x:x + 3])
assert len(colours) >= 4, f'only {len(colours)} colours: blank'
PY
}

# labels_apart: the map on stdin has each city name whole, beside its marker
# on one side and a blank (or the map's edge) on the other, so no two labels
# run into each other or into a marker ("Shanghai█◆", "◆Urumqi⠤⣄Shenyang").
labels_apart() {
    MAP_SCREEN=$(cat) python3 - "$here/../../src/geo.c" <<'PY'
import os, re, sys
names = re.findall(r'\{"([^"]+)", -?[0-9.]+, -?[0-9.]+\}', open(sys.argv[1]).read())
assert len(names) >= 10, 'no city list'
lines = os.environ['MAP_SCREEN'].split('\n')
end = next(i for i, l in enumerate(lines) if '°E' in l or '°W' in l)
bad, found = [], 0
for l in lines[4:end]:
    named = set()
    for n in names:
        for m in re.finditer(re.escape(n), l):
            a, b = m.start(), m.end()
            before = l[a - 1] if a > 0 else ' '
            after = l[b] if b < len(l) else ' '
            if not ((before == '◆' and after in ' ┤') or (after == '◆' and before in ' ┤')):
                bad.append(f'{n!r} not between its marker and a blank: {l.strip()!r}')
            named.update(range(a - 1, b + 1))
            found += 1
    for i, ch in enumerate(l):
        if ch == '◆':
            for j in (i - 1, i + 1):
                if 0 <= j < len(l) and l[j].isalpha() and j not in named:
                    bad.append(f'a marker touches text that is no whole name: {l.strip()!r}')
if found < 3:
    bad.append(f'only {found} names on the map')
print('\n'.join(bad))
sys.exit(1 if bad else 0)
PY
}

echo "1..96"

# --- 80x24: the Load pane through the sheets, saving, help, resize, quit ---
start a 80x24
check a load-found-80x24 "L load"
keys a L
check a loaded-80x24 "rows from"
keys a Down Down Enter
check a sheet-phones-80x24 "row 1/2,006"
keys a Right s
check a sort-80x24 "sorted by phone_brand asc"
keys a / 魅族 Enter
check a search-80x24 "found at row"
keys a F
check a freq-80x24 "distinct values"
keys a p
if wait_for a "saved out-a/load-freq-phones-phone_brand.png (1200x800 PNG)"; then
    if err=$(png_ok "$work/out-a/load-freq-phones-phone_brand.png" 1200 800 2>&1); then
        ok "save PNG: the file is a 1200x800 PNG and not blank"
    else
        notok "save PNG" "$err"
    fi
else
    notok "save PNG (no 'saved' on the status line)" "$last_screen"
fi
# The frequency table as a chart (.), then back to the table (.).
keys a .
check a freq-chart-80x24 "phones.phone_brand: frequency: the 20 most frequent"
keys a G
check a freq-chart-last-bar-80x24 "↑ "
keys a g .
wait_for a "distinct values" >/dev/null
keys a '?'
check a help-80x24 "Keys - ? or q closes"
keys a g
check a help-top-80x24 "Everywhere"
keys a G
# Enter leaves the help open (it closed it, and the next q quit the workbench).
keys a Enter
if wait_for a "Enter does nothing in the help: q or Esc closes it" &&
    grep -qF "Keys - ? or q closes" <<<"$(screen a)"; then
    ok "help: Enter leaves it open and says which keys close it"
else
    notok "help: Enter" "$last_screen"
fi
keys a q
T resize-window -t a -x 160 -y 48
check a resized-160x48 "phones.phone_brand frequency"
keys a .
check a freq-chart-160x48 "phones.phone_brand: frequency: the 20 most frequent"
keys a .
wait_for a "distinct values" >/dev/null
keys a q q q
if wait_for a "EXIT=0"; then ok "quit: q closes the sheets, then leaves with status 0"; else
    notok "quit" "$last_screen"; fi

# --- replay: the session log, headless, saves the same file ---
if "$bin" replay "$work/a.log" --out "$work/replay" --quiet >"$work/replay.out" 2>&1 &&
    cmp -s "$work/out-a/load-freq-phones-phone_brand.png" \
        "$work/replay/load-freq-phones-phone_brand.png"; then
    ok "replay of the session log saves the same PNG"
else
    notok "replay" "$(cat "$work/replay.out")"
fi

# --- 160x48: a table sheet, and the : prompt's completion ---
mkdir -p "$work/dat2"
start b 160x48
wait_for b "L load" >/dev/null
# The path prompt: o opens it on the current directory; Tab completes.
keys b o BSpace BSpace BSpace BSpace BSpace d Tab
check b path-completion-list-160x48 "dat2/ data/"
keys b a Tab
check b path-completion-160x48 "data directory: WORK/data/"
keys b Enter
wait_for b "WORK/data: kaggle shape, 8 of 8 tables found" >/dev/null
keys b L
wait_for b "rows from" >/dev/null
keys b Down Down Down Enter
check b sheet-events-160x48 "row 1/"
keys b : sor Tab
check b prompt-completion-160x48 ":so"
keys b C-u Escape
keys b : 'sort-desc timestamp' Enter
check b sort-desc-160x48 "sorted by timestamp desc"

# --- a load cancelled while running; the screen still answers ---
start c 80x24 DG_JOB_DELAY_MS=150 XDG_CACHE_HOME=$work/cache-c
wait_for c "L load" >/dev/null
keys c L
check c load-progress-80x24 "[PROGRESS MASKED] Esc cancels"
# What the mask hid: a bar, a percentage, an amount with a rate, the time.
bar=$(T capture-pane -p -t c | grep -E '^ loading: [a-z_ ]+ +[0-9]+% \[[#.]{10}\] .*/s.* Esc cancels$')
if [ -n "$bar" ]; then ok "the progress bar shows stage, percent, bar and rate"; else
    notok "progress bar" "$(T capture-pane -p -t c | tail -2)"; fi
keys c Escape
check c load-cancelled-80x24 "cancelled; nothing changed"
t0=$EPOCHREALTIME
keys c 2
if wait_for c "Rules: 10, 10 on.  Data: none loaded" 5; then
    ok "after a cancel the UI answers a key ($(awk "BEGIN { printf \"%.3f\", $EPOCHREALTIME - $t0 }") s)"
else
    notok "after a cancel the UI answers" "$last_screen"
fi

# --- the MySQL source's password field: stars only, no server needed ---
start e 80x24 XDG_CONFIG_HOME=$work/no-config
wait_for e "L load" >/dev/null
keys e m
wait_for e "Source: MySQL" >/dev/null
keys e P
wait_for e "never logged):" >/dev/null
keys e -l 'pässw0rd!'
check e password-field-80x24 "*********"
shown=$(screen e)
if grep -qF "logged): *********" <<<"$shown" && ! grep -qE "p.ssw0rd" <<<"$shown"; then
    ok "the password field shows one star per character, never the characters"
else
    mapfile -t lines <<<"$shown"
    notok "password field" "${lines[@]}"
fi
keys e Escape
wait_for e "e edit" >/dev/null
# The ClickHouse source, three sources on: its own fields, the password
# still from nowhere (the one typed above was cancelled, never kept).
keys e m m m
check e source-clickhouse-80x24 "Source: ClickHouse"

# --- 80x24: the Clean pane after applying, the EDA pane's list, a table, its chart ---
start d 80x24
wait_for d "L load" >/dev/null
keys d L
wait_for d "rows from" >/dev/null
keys d 2 a
check d clean-applied-80x24 "applied 10 of 10 rules"
# Enter: the cursor's rule in full, with its parameters and what it did.
keys d Down Down Down Down Enter
check d clean-rule-detail-80x24 "rule 5 of 10: time-window"
keys d q
# The last rule: its effects row scrolls into view with the list.
keys d G
check d clean-last-rule-80x24 "10 empty-categories: "
keys d 3 c
check d eda-list-80x24 "14 EDA tables from the cleaned data"
# The box plot's sheet scrolls sideways to its last columns (upper whisker, max).
keys d Down Down Enter
wait_for d "row 1/2" >/dev/null
keys d G Right Right Right Right Right Right Right Right Right
check d eda-box-last-column-80x24 "upper whisker"
# Scrolled right, the row's name (the first column) stays pinned at the left.
if screen d | sed -n 3,5p | grep -c '^\(gender\|female\|male\) *│ .*[0-9x]$' | grep -qx 3; then
    ok "a sheet scrolled to its last column keeps its first column pinned"
else
    notok "pinned first column" "$(screen d | sed -n 3,5p)"
fi
# _ widens a column, and back.
keys d _
check d eda-box-widened-80x24 "max widened to its longest value"
keys d _ q Up
keys d Enter
check d eda-sheet-80x24 "row 1/2"
keys d q p
if wait_for d "saved out-d/eda-01-gender.png and its .csv"; then
    if err=$(png_ok "$work/out-d/eda-01-gender.png" 1200 800 2>&1) &&
        [ -s "$work/out-d/eda-01-gender.csv" ]; then
        ok "EDA save: a 1200x800 PNG, not blank, and its CSV"
    else
        notok "EDA save" "$err"
    fi
else
    notok "EDA save (no 'saved' on the status line)" "$last_screen"
fi
# The charts in the pane: . shows the cursor's table as a chart, Down the next.
keys d .
check d eda-chart-gender-80x24 "Chart 1b: Gender of labelled devices"
keys d Down
check d eda-chart-box-80x24 "Chart 2: Age by gender"
keys d Down Down Down
check d eda-chart-hours-80x24 "Chart 5: Events per hour"
T resize-window -t d -x 160 -y 48
check d eda-chart-hours-160x48 "Chart 5: Events per hour"
keys d Up Up Up Up Up
check d eda-chart-age-160x48 "Chart 1a: Age of labelled devices, by gender"
keys d Down Down Down Down Down Down Down Down
check d eda-chart-brands-160x48 "Chart 8: Top 10 phone brands by gender"
keys d Enter .
check d eda-chart-sheet-160x48 "row 1/10"
T resize-window -t d -x 80 -y 24
# A reload would lose the cleaned data and the EDA tables: it asks first.
keys d 1 L
check d reload-confirm-80x24 "load anyway? (y: yes"
keys d n
if wait_for d "load not done: nothing lost" && [ "$(grep -c '^load$' "$work/d.log")" = 1 ]; then
    ok "a reload answered no loads nothing"
else
    notok "reload answered no" "$last_screen"
fi
# --- 80x24: the Geo pane: a sample's braille map, switched, zoomed, saved ---
start g 80x24
wait_for g "L load" >/dev/null
keys g L
wait_for g "rows from" >/dev/null
keys g 2 a
wait_for g "applied 10 of 10 rules" >/dev/null
keys g 4
check g geo-empty-80x24 "No sample of events yet"
keys g c
check g geo-all-80x24 "sampled"
if err=$(screen g | labels_apart 2>&1); then
    ok "geo 80x24: no label runs into another or into a marker"
else
    notok "geo 80x24: labels apart" "$err"
fi
# Enter: every city of the map, the ones without room for their names said.
keys g Enter
check g geo-cities-80x24 "Cities on the map"
keys g q
keys g m
check g geo-gender-80x24 "Map gender"
# One panel at a time: f flips to the female panel, and back.
keys g f
check g geo-female-80x24 "Female: 1,589 events; panel 2 of 2"
keys g f
wait_for g "Male: 3,440 events; panel 1 of 2" >/dev/null
keys g + Left
check g geo-zoomed-80x24 "lon 90.90..112.55"
keys g P
check g geo-mercator-80x24 "mercator;"
if err=$(screen g | labels_apart 2>&1); then
    ok "geo zoomed, mercator, 80x24: labels apart"
else
    notok "geo zoomed, mercator: labels apart" "$err"
fi
keys g p
if wait_for g "saved out-g/geo-gender.png (1924x852 PNG)"; then
    if err=$(png_ok "$work/out-g/geo-gender.png" 1924 852 2>&1); then
        ok "Geo save: a 1924x852 PNG, not blank"
    else
        notok "Geo save" "$err"
    fi
else
    notok "Geo save (no 'saved' on the status line)" "$last_screen"
fi
# A taller screen: the map takes the whole height.
T resize-window -t g -x 160 -y 48
check g geo-mercator-160x48 "mercator;"
# --- 80x24: the Geo pane's DBSCAN views: run, k-distance, sweep, adopt ---
start k 80x24
wait_for k "L load" >/dev/null
keys k L
wait_for k "rows from" >/dev/null
keys k 2 a
wait_for k "applied 10 of 10 rules" >/dev/null
keys k 4 v
check k dbscan-empty-80x24 "No DBSCAN run yet"
keys k r
check k dbscan-clusters-80x24 "minPts 10: 277 clusters"
# The list scrolls to its last cluster (it showed the largest 16 only).
keys k End
check k dbscan-clusters-last-80x24 "Clusters 262-277 of 277"
keys k Home
wait_for k "Clusters 1-16 of 277" >/dev/null
keys k v
check k dbscan-kdist-80x24 "k-distance curve"
keys k p
if wait_for k "saved out-k/geo-kdist.png"; then
    if err=$(png_ok "$work/out-k/geo-kdist.png" 1200 800 2>&1); then
        ok "k-distance save: a 1200x800 PNG, not blank"
    else
        notok "k-distance save" "$err"
    fi
else
    notok "k-distance save (no 'saved' on the status line)" "$last_screen"
fi
T resize-window -t k -x 160 -y 48
check k dbscan-kdist-160x48 "km to the k-th neighbour"
T resize-window -t k -x 80 -y 24
wait_for k "km to the k-th neighbour" >/dev/null
keys k v w
check k dbscan-sweep-80x24 "swept 3 eps x 3 minPts"
# The sweep as a chart (.), and back to its table (.).
keys k .
check k dbscan-sweep-chart-80x24 "clusters by eps, a line per minPts"
keys k .
wait_for k "Up/Down choose a row" >/dev/null
keys k Down Enter
check k dbscan-adopted-80x24 "minPts 20 (r runs"
# --- the same, a run cancelled with Esc: nothing changes ---
start x 80x24 DG_JOB_DELAY_MS=100
wait_for x "L load" >/dev/null
keys x L
wait_for x "rows from" 30 >/dev/null
keys x 2 a
wait_for x "applied 10 of 10 rules" 30 >/dev/null
keys x 4 v r
wait_for x "Esc cancels" >/dev/null
keys x Escape
check x dbscan-cancelled-80x24 "cancelled; nothing changed"
# --- 80x24: the Models pane trains (2 folds), sorts, saves a chart, exports;
# --- the Campaigns pane predicts, targets and writes ---
start h 80x24
wait_for h "L load" >/dev/null
keys h L
wait_for h "rows from" >/dev/null
keys h 2 a
wait_for h "applied 10 of 10 rules" >/dev/null
keys h 5
check h models-settings-80x24 "t toggles a family"
keys h Down Down Down t K BSpace 2 Enter
check h models-settings-changed-80x24 "2-fold cross-validation"
# Enter: the cursor's family in full (its description, its grid).
keys h Enter
check h models-family-detail-80x24 "cross-validation grid:"
keys h q
keys h c
if wait_for h "runs on 800 labelled devices" 120; then
    check h models-runs-80x24 "runs on 800 labelled devices"
else
    notok "models-runs-80x24 (training did not finish)" "$last_screen"
fi
keys h Right Right Right Right Right Right Right Right s
check h models-sorted-80x24 "runs sorted by logloss, ascending"
keys h Enter
check h models-run-detail-80x24 "run 1 of"
keys h q
# The table's last row and, scrolled right, its last column (the model's bytes).
# (Compared by its cells, not a file: train_s is a timing.)
keys h End Right Right Right Right Right Right Right Right Right Right Right Right
if wait_for h "train_s     bytes"; then
    tail_rows=$(screen h | sed -n '4p;22p')
    if grep -q 'train_s *bytes$' <<<"$tail_rows" &&
        grep -qE '^ \* chosen\(.*1\+2 age .* [0-9,]+$' <<<"$(sed -n 2p <<<"$tail_rows")"; then
        ok "models-last-cell-80x24: the runs' last row and last column"
    else
        notok "models-last-cell-80x24" "$tail_rows"
    fi
else
    notok "models-last-cell-80x24 (no bytes column)" "$last_screen"
fi
# Left back to the frozen columns scrolls back to params (it stayed right).
keys h Home Left Left Left Left Left Left Left Left Left Left Left Left
if wait_for h " params "; then
    ok "models: Left scrolls the runs back to their first columns"
else
    notok "models: Left back to the frozen columns" "$last_screen"
fi
# f: the runs of one target and scenario (the prompt holds the filter: "all all").
keys h f BSpace BSpace BSpace BSpace BSpace BSpace BSpace gender Space 1 Enter
check h models-filtered-80x24 "shown: gender, scenario 1"
keys h f BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace all Space all Enter
wait_for h "showing all runs" >/dev/null
keys h g p
if wait_for h "saved out-h/models-roc_gender.png"; then
    if err=$(png_ok "$work/out-h/models-roc_gender.png" 1200 800 2>&1); then
        ok "Models save: the ROC chart, a 1200x800 PNG, not blank"
    else
        notok "Models save" "$err"
    fi
else
    notok "Models save (no 'saved' on the status line)" "$last_screen"
fi
# The cursor's run's charts in the pane (.): ROC; at 160x48 ROC and calibration.
keys h .
check h models-chart-80x24 "ROC curve: gender"
T resize-window -t h -x 160 -y 48
check h models-chart-160x48 "Calibration: gender"
T resize-window -t h -x 80 -y 24
keys h .
wait_for h "runs on 800 labelled devices" >/dev/null
keys h v x
if wait_for h "models to out-h/models" &&
    [ -s "$work/out-h/models/s1-gender/meta.txt" ] && [ -s "$work/out-h/runs.csv" ]; then
    ok "Models export: the chosen models in out-h/models, runs.csv beside"
else
    notok "Models export" "$last_screen"
fi
keys h 6
check h campaigns-rules-80x24 "No predictions yet"
keys h c
check h campaigns-reach-80x24 "test devices predicted and targeted"
keys h Down Enter
check h campaigns-detail-80x24 "campaign 2:"
keys h q
keys h .
check h campaigns-chart-80x24 "Campaign reach:"
keys h .
wait_for h "P(female) deciles" >/dev/null
keys h w
if wait_for h "wrote out-h/campaigns" && [ -s "$work/out-h/campaigns/reach.csv" ] &&
    [ -s "$work/out-h/campaigns/device_campaigns.csv" ]; then
    ok "Campaigns write: the campaign files in out-h/campaigns"
else
    notok "Campaigns write" "$last_screen"
fi
keys h p
if wait_for h "saved out-h/campaigns-reach.png" &&
    err=$(png_ok "$work/out-h/campaigns-reach.png" 1200 800 2>&1); then
    ok "Campaigns save: reach.png, not blank"
else
    notok "Campaigns save" "${err:-$last_screen}"
fi
# A training cancelled with Esc keeps the last one (its table comes back).
keys h 5 c
# Not wait_for: the progress line changes until the training ends.
for _ in $(seq 200); do
    grep -qF "training [PROGRESS MASKED]" <<<"$(screen h)" && break
    sleep 0.05
done
keys h Escape
last_screen=""
if wait_for h "training on the cleaned data: cancelled; nothing changed" 60 &&
    keys h v && wait_for h " runs, cleaned data"; then
    ok "Models: Esc cancels a training and the last one stays"
else
    notok "Models cancel" "$last_screen"
fi
# A key that would throw a running job away asks first; n keeps it. (While a
# job runs the screen never holds still: poll_for, not wait_for.)
poll_for() {
    local i
    for i in $(seq 300); do
        grep -qF -- "$2" <<<"$(T capture-pane -p -t "$1")" && return 0
        sleep 0.05
    done
    last_screen=$(T capture-pane -p -t "$1")
    return 1
}
keys h v c
poll_for h "Esc cancels" >/dev/null
keys h q
if poll_for h "quit anyway? (y: yes; any other key: no)"; then
    ok "quit during a training asks first"
else
    notok "quit during a training" "$last_screen"
fi
keys h n
# A data action keyed while the training runs waits for it.
keys h 4 c
if poll_for h "1 queued; training" && wait_for h "sampled" 120 && wait_for h "cleaned data" &&
    keys h 5 && wait_for h " runs, cleaned data"; then
    ok "a geo sample keyed during a training runs after it"
else
    notok "queued geo sample" "$last_screen"
fi
keys h q
if wait_for h "EXIT=0"; then ok "quit with nothing to lose leaves at once"; else
    notok "quit" "$last_screen"; fi

# --- the same --out again: the work comes back; an earlier training opens ---
"$bin" train "$work/data" --out "$work/oldrun" --targets gender --folds 2 --quiet >/dev/null 2>&1
T new-session -d -s h2 -x 80 -y 24 -c "$work" \
    "env XDG_CACHE_HOME=$work/cache NO_COLOR=1 $bin --out out-h --log h.log; echo EXIT=\$?; sleep 3600"
check h2 workspace-restored-80x24 "restored the workspace of out-h"
keys h2 2
check h2 workspace-clean-80x24 "cleaned by the apply below"
keys h2 5
check h2 workspace-runs-80x24 " runs of out-h/train"
keys h2 o
keys h2 BSpace BSpace BSpace BSpace BSpace "$work/oldrun" Enter
check h2 workspace-opened-80x24 "chosen models) of WORK/oldrun"
keys h2 x
if wait_for h2 "models to out-h/models" && grep -q "^family" "$work/out-h/runs.csv" &&
    [ "$(grep -c ',gender,' "$work/out-h/runs.csv")" -gt 0 ] &&
    ! grep -q ',group12,' "$work/out-h/runs.csv"; then
    ok "an earlier training folder's models export (its runs.csv: gender only)"
else
    notok "export of the opened folder" "$last_screen"
fi
keys h2 q
wait_for h2 "EXIT=0" >/dev/null
# The log: the second session continues the first, and replay runs both.
if grep -qF "# continues the session above: the workspace of out-h" "$work/h.log" &&
    "$bin" replay "$work/h.log" --out "$work/replay-h" >"$work/replay-h.out" 2>&1 &&
    grep -q "of 2 sessions" "$work/replay-h.out" && [ -s "$work/replay-h/models/s1-gender/meta.txt" ]; then
    ok "replay of the log runs the session and the one that continued it"
else
    notok "replay of a continued session" "$(cat "$work/replay-h.out")"
fi

[ "$failed" -eq 0 ]

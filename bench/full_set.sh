# Sourced by the benchmarks: installs what they need (Debian's python3-pandas
# beside the build's packages, unless BENCH_NO_PANDAS=1), builds the release binary into $bin, and
# generates the full-size set (186,716 devices) of the world $world (default
# personas; synth --list-worlds) once into $data (bench/out/full, or
# bench/out/full-WORLD for the other worlds: git-ignored, never committed), warm
# in the page cache so that every contender reads from memory. Defines m
# CMD..., which prints "seconds peak_MiB" of one command.
bash scripts/deps.sh
[ "${BENCH_NO_PANDAS:-0}" = 1 ] ||
  dpkg-query -W -f='${Status}' python3-pandas 2>/dev/null | grep -q 'install ok installed' ||
  { apt-get update -qq && apt-get install -y -qq python3-pandas >/dev/null; }
bash scripts/build.sh build-release --buildtype=release
bin=./build-release/demographer
world=${world:-personas}
data=bench/out/full
[ "$world" = personas ] || data=bench/out/full-$world
if [ ! -f "$data/.complete" ]; then
  echo "generating the full-size data set of the world $world in $data ..."
  /usr/bin/python3 bench/measure.py $bin synth --quiet --world "$world" --out "$data" \
    --devices 186716 --seed 1 | awk '{printf "synth: %.1f s, peak %.0f MiB\n", $1, $2}'
  touch "$data/.complete"
fi
cat "$data"/*.csv >/dev/null
m() { /usr/bin/python3 bench/measure.py "$@"; }

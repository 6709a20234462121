# Sourced by the benchmarks that take a size (models.sh, closure.sh) with
# $devices (and optionally $world, default personas) set: at full size
# (186,716) bench/full_set.sh; at another size the release binary and a set of
# that many devices (seed 1) of that world generated once into $data with the
# generator's truth in $truth. Defines bin, data, m as full_set.sh does.
if [ "$devices" = 186716 ]; then
  . bench/full_set.sh
else
  bash scripts/build.sh build-release --buildtype=release
  bin=./build-release/demographer
  world=${world:-personas}
  data=bench/out/sized-$devices
  [ "$world" = personas ] || data=$data-$world
  truth=$data.truth.csv
  [ -f "$data/.complete" ] && [ -f "$truth" ] ||
    { $bin synth --quiet --world "$world" --out "$data" --devices "$devices" --seed 1 \
        --truth "$truth" &&
      touch "$data/.complete"; }
  m() { /usr/bin/python3 bench/measure.py "$@"; }
fi

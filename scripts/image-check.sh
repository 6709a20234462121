#!/usr/bin/env bash
# Builds the Docker image for real with podman and runs its CMD and HEALTHCHECK
# from the image's own root filesystem, as the image's user:
#   1. the base image debian:bookworm-slim, imported from a debootstrap minbase
#      bookworm root (scripts/lib-root.sh), only when podman does not have it;
#   2. podman build of the Dockerfile (tag demographer, or $1);
#   3. podman create + podman export: the image's root in a temp folder;
#   4. there, chroot --userspec=UID:GID (the image's USER) runs the image's CMD, read
#      from the image's config, on a free loopback port, with a predictions.csv made
#      by the host build (synth + train --families prior + predict);
#   5. the image's HEALTHCHECK command, then curl: /health and one device lookup.
# `podman run` is refused on these machines (setrlimit), hence the chroot.
# Differences from a container, all of them what a container changes: the port
# 8080 and the bind address 0.0.0.0 become a free port on 127.0.0.1, and /models
# is a folder inside the exported root.
# Prints its figures and exits non-zero on any failure. Needs root, podman, curl,
# python3 and (for the base image) debootstrap. Leaves the images behind (the
# base, $tag and its build stage $tag-build), so the next run reuses the base and
# the build cache, and removes the ones a rebuild replaced; removes the
# container, the mounts and the temp roots.
#   scripts/image-check.sh [TAG]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib-root.sh
. scripts/lib-root.sh

tag=${1:-demographer}
base=debian:bookworm-slim
fail() { echo "image-check: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (chroot, mounts)"
for t in podman curl python3 chroot tar; do
  command -v "$t" >/dev/null || fail "$t is not installed"
done

work=$(mktemp -d /tmp/demographer-image.XXXXXX)
ctr="" server=""
cleanup() {
  local rc=$?
  # Best effort from here on: one step that fails must not skip the others.
  set +e
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill -KILL "$server" 2>/dev/null
    wait "$server" 2>/dev/null
  fi
  if [ -n "$ctr" ] && ! podman rm -f "$ctr" >/dev/null 2>&1; then
    echo "image-check: could not remove container $ctr (podman rm -f $ctr)" >&2
  fi
  remove_root "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}'; }

# The host build: it makes the predictions the image serves.
bin=build/demographer
if [ ! -x "$bin" ]; then
  bash scripts/build.sh build -Dtests=disabled || fail "host build failed"
fi

# 1. The base image.
if podman image exists "$base"; then
  base_s="0 (present)"
else
  t0=$(now)
  make_root "$work/base" || fail "debootstrap of the base root failed"
  # No apt lists or caches in the base; the build stage runs apt-get update.
  rm -rf "$work/base"/var/lib/apt/lists/* "$work/base"/var/cache/apt/*.bin
  tar -C "$work/base" -c . | podman import -q - "$base" >/dev/null ||
    fail "podman import of the base root failed"
  rm -rf "$work/base"
  base_s=$(since "$t0")
fi
echo "base import: ${base_s} s"

# 2. The image. Docker format: the OCI format has no HEALTHCHECK. The build stage
# gets a tag too ($tag-build), so that the images a rebuild replaces can be removed
# by id (rather than pruning every dangling image) while the deps.sh layer stays
# cached for the next run.
# Each tag on its own: inspect fails as a whole when one of several is absent.
old=""
for t in "$tag" "$tag-build"; do
  if podman image exists "$t"; then
    old+=" $(podman image inspect --format '{{.Id}}' "$t")"
  fi
done
build() {
  podman build --pull=never --isolation chroot --cgroup-manager cgroupfs --format docker "$@" . \
    >>"$work/build.log" 2>&1 && return 0
  tail -n 40 "$work/build.log" >&2
  fail "podman build $* failed (above)"
}
t0=$(now)
build --target build -t "$tag-build"
build -t "$tag"
build_s=$(since "$t0")
new=$(podman image inspect --format "{{.Id}}" "$tag" "$tag-build" | tr "\n" " ")
for id in $old; do
  case " $new " in
    *" $id "*) ;;
    *) podman rmi "$id" >/dev/null 2>&1 ||
         echo "image-check: the replaced image $id is still in use; kept" >&2 ;;
  esac
done
size=$(podman image inspect --format '{{.Size}}' "$tag")
echo "build: ${build_s} s"
echo "image size: $(awk -v b="$size" 'BEGIN {printf "%.1f MB", b / 1e6}') ($size bytes)"

# The image's own config: CMD, HEALTHCHECK, USER, ENV.
podman image inspect "$tag" >"$work/inspect.json"

# 3. The image's root filesystem.
# --no-healthcheck: podman would set a systemd timer for it (there is no systemd here).
ctr=$(podman create --no-healthcheck "$tag")
root="$work/root"
mkdir "$root"
podman export "$ctr" | tar -C "$root" --numeric-owner -x || fail "podman export failed"
podman rm -f "$ctr" >/dev/null
ctr=""

# 4. The CMD, as the image's user, on a free loopback port.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 - "$work" "$root" "$port" <<'EOF' || fail "the image's config is not what this check expects"
import json, sys
work, root, port = sys.argv[1:]
image = json.load(open(work + "/inspect.json"))[0]
cfg = image.get("Config") or {}
hc = image.get("Healthcheck") or cfg.get("Healthcheck")
def local(argv):
    return [a.replace("8080", port).replace("0.0.0.0", "127.0.0.1") for a in argv]
cmd = cfg.get("Cmd") or []
ep = cfg.get("Entrypoint") or []
if not cmd:
    sys.exit("image-check: the image has no CMD")
if not hc or not hc.get("Test") or hc["Test"][0] not in ("CMD", "CMD-SHELL"):
    sys.exit("image-check: the image has no HEALTHCHECK (%r)" % (hc,))
test = hc["Test"][1:] if hc["Test"][0] == "CMD" else ["/bin/sh", "-c"] + hc["Test"][1:]
user = cfg.get("User") or "root"
name, _, group = user.partition(":")
uid = gid = None
for line in open(root + "/etc/passwd"):
    f = line.rstrip("\n").split(":")
    if f[0] == name or f[2] == name:
        uid, gid = f[2], f[3]
if uid is None:
    sys.exit("image-check: USER %s is not in the image's /etc/passwd" % name)
if group:
    for line in open(root + "/etc/group"):
        f = line.split(":")
        if f[0] == group or f[2] == group:
            gid = f[2]
env = cfg.get("Env") or ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
with open(work + "/run.sh", "w") as out:
    q = lambda a: "'" + a.replace("'", "'\\''") + "'"
    out.write("user=%s\nuserspec=%s:%s\nenv=(%s)\ncmd=(%s)\nhealth=(%s)\n" % (
        q(user), uid, gid, " ".join(map(q, env)), " ".join(map(q, local(ep + cmd))),
        " ".join(map(q, local(test)))))
EOF
# What run.sh sets (the image's user, ENV, CMD and HEALTHCHECK command).
user="" userspec="" env=() cmd=() health=()
# shellcheck disable=SC1091
. "$work/run.sh"
echo "image user: $user ($userspec); CMD here: ${cmd[*]}"

# The predictions the CMD serves: /models/predictions.csv, from the host build.
"$bin" synth --out "$work/data" --devices 300 --quiet
"$bin" train "$work/data" --out "$work/train" --families prior --folds 2 --no-charts \
  --no-snapshot --quiet
mkdir -p "$root/models"
"$bin" predict "$work/data" --models "$work/train" --out "$root/models/predictions.csv" \
  --devices all --no-snapshot --quiet
chmod 0644 "$root/models/predictions.csv"
device=$(awk -F, 'NR == 2 {print $1; exit}' "$root/models/predictions.csv")

mount_root "$root" || fail "mounting proc, sys, dev in the image's root failed"
inroot() { chroot --userspec="$userspec" "$root" /usr/bin/env -i "${env[@]}" "$@"; }
# Not through inroot: $! must be the server itself (chroot and env exec it), not a subshell.
chroot --userspec="$userspec" "$root" /usr/bin/env -i "${env[@]}" "${cmd[@]}" \
  >"$work/serve.out" 2>"$work/serve.err" &
server=$!
url="http://127.0.0.1:$port"
up=0
for _ in $(seq 100); do
  if curl -fsS --noproxy '*' -m 2 "$url/health" >/dev/null 2>&1; then up=1; break; fi
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
if [ "$up" != 1 ]; then
  cat "$work/serve.out" "$work/serve.err" >&2
  fail "the CMD did not come up on $url"
fi
echo "serve: $(head -n 1 "$work/serve.out")"

# 5. The HEALTHCHECK command, /health, one device.
if hc_out=$(inroot "${health[@]}" 2>&1); then
  echo "health ok (HEALTHCHECK ${health[*]}: $hc_out)"
else
  fail "HEALTHCHECK ${health[*]} failed: $hc_out"
fi
body=$(curl -fsS --noproxy '*' -m 5 "$url/health") || fail "GET /health failed"
case $body in *'"status":"ok"'*) echo "GET /health ok: $body" ;;
  *) fail "GET /health: $body" ;; esac
body=$(curl -fsS --noproxy '*' -m 5 "$url/v1/devices/$device") || fail "GET /v1/devices/$device failed"
case $body in *"\"device_id\":\"$device\""*) echo "lookup ok: GET /v1/devices/$device: ${body:0:160}..." ;;
  *) fail "GET /v1/devices/$device: $body" ;; esac

# What docker stop does: SIGTERM, and the server drains and exits 0.
kill -TERM "$server"
rc=0
wait "$server" || rc=$?
server=""
[ "$rc" = 0 ] || { cat "$work/serve.err" >&2; fail "the server exited $rc after SIGTERM"; }
echo "stop ok (SIGTERM: exit 0)"
echo "image-check: ok (base import ${base_s} s, build ${build_s} s," \
  "image $(awk -v b="$size" 'BEGIN {printf "%.1f MB", b / 1e6}'), health ok, lookup ok)"

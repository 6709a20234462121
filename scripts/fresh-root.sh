#!/usr/bin/env bash
# Runs CMD in a clone of this repository inside a bare Debian 12 root, as a new
# user's machine would be: debootstrap --variant=minbase bookworm, nothing
# else installed, the repository cloned from its committed HEAD (uncommitted
# changes are not part of a clone).
#
#   scripts/fresh-root.sh [--shared DIR] [--keep] CMD
#     e.g. scripts/fresh-root.sh 'bash scripts/demo.sh'
#
# --shared DIR  also puts DIR beside the clone as ../shared, read-only (the
#               real data pieces some tests use; without it they skip, as in a
#               public clone)
# --keep        keeps the root (its path is printed) instead of removing it
#
# The mirror is the machine's own (its apt sources); the root gets the same
# apt sources, so it installs the versions this machine would. Needs root.
# Exits with CMD's status.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

shared="" keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --shared) shared=$(realpath "$2"); shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,17s/^# \{0,1\}//p' "$0"; exit 0 ;;
    --) shift; break ;;
    -*) echo "fresh-root.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { echo "fresh-root.sh: no command given (see --help)" >&2; exit 2; }
cmd="$*"
[ "$(id -u)" = 0 ] || { echo "fresh-root.sh: needs root (debootstrap, mount, chroot)" >&2; exit 1; }

# make_root, mount_root, umount_root: one way to make a bare root, shared with
# scripts/image-check.sh.
# shellcheck source=scripts/lib-root.sh
. scripts/lib-root.sh

if ! command -v debootstrap >/dev/null; then
  echo "fresh-root.sh: installing debootstrap"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

root=$(mktemp -d "${TMPDIR:-/var/tmp}/demographer-root.XXXXXX")
# mktemp's 0700 would be the root's own /: apt's _apt user and the test
# servers' users could not reach anything.
chmod 755 "$root"

# The root goes with everything mounted in it (remove_root), unless --keep.
cleanup() {
  local rc=$?
  # Best effort from here on: one step that fails must not skip the others.
  set +e
  if [ "$keep" = 1 ]; then
    umount_root "$root"
    echo "fresh-root.sh: the root is kept at $root" >&2
  else
    remove_root "$root"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$(date +%s)
echo "fresh-root.sh: debootstrap minbase bookworm into $root"
make_root "$root" || exit 1
t1=$(date +%s)

# The machine's own apt sources (the updates and security suites too), so the
# root installs what this machine would; debootstrap's one-line sources.list
# (the main suite only) stays when the machine has no deb822 sources.
shopt -s nullglob
host_sources=(/etc/apt/sources.list.d/*.sources)
shopt -u nullglob
if [ ${#host_sources[@]} -gt 0 ]; then
  cp "${host_sources[@]}" "$root/etc/apt/sources.list.d/"
  rm -f "$root/etc/apt/sources.list"
elif [ -f /etc/apt/sources.list ]; then
  cp /etc/apt/sources.list "$root/etc/apt/sources.list"
fi

git clone -q --no-hardlinks "$repo" "$root/root/demographer"
if [ -n "$shared" ]; then
  mkdir -p "$root/root/shared"
  mount --bind "$shared" "$root/root/shared"
  mount -o remount,bind,ro "$root/root/shared"
fi

mount_root "$root" || exit 1
mkdir -p "$root/dev/shm" "$root/tmp"
chmod 1777 "$root/tmp"
echo "fresh-root.sh: root ready in $((t1 - t0)) s (debootstrap); running: $cmd"

set +e
chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" CI="${CI:-}" \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  bash -c 'cd /root/demographer && eval "$1"' fresh-root "$cmd"
rc=$?
set -e
t2=$(date +%s)
echo "fresh-root.sh: '$cmd' exited $rc after $((t2 - t1)) s (debootstrap $((t1 - t0)) s)" >&2
exit "$rc"

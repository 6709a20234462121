# shellcheck shell=bash
# Shell functions for a bare Debian 12 root, sourced by scripts/image-check.sh
# and scripts/fresh-root.sh:
#   make_root DIR       debootstrap --variant=minbase bookworm into DIR, from the
#                       mirror of this machine's own apt sources
#   mount_root DIR      proc, /sys and /dev inside DIR, for chroot; resolv.conf copied
#   umount_root DIR     undoes mount_root (safe to call twice, or after a failure)
#   remove_root DIR     kills what still runs inside DIR, unmounts, removes DIR
# No mirror host is written here: it is read from /etc/apt at run time.

# The first deb mirror of this machine's apt sources (deb822 first, then sources.list).
root_mirror() {
  local m=""
  if [ -r /etc/apt/sources.list.d/debian.sources ]; then
    m=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$m" ] && [ -r /etc/apt/sources.list ]; then
    m=$(awk '$1=="deb"{for(i=2;i<=NF;i++) if($i ~ /^[a-z+]+:\/\//){print $i; exit}}' \
      /etc/apt/sources.list)
  fi
  [ -n "$m" ] || { echo "lib-root: no mirror in /etc/apt/sources.list.d/debian.sources" \
    "or /etc/apt/sources.list" >&2; return 1; }
  printf '%s\n' "$m"
}

# make_root DIR: a minbase bookworm root in DIR (which must not exist or be empty).
make_root() {
  local dir=$1 mirror log
  command -v debootstrap >/dev/null || { echo "lib-root: debootstrap is not installed" \
    "(apt-get install -y debootstrap)" >&2; return 1; }
  mirror=$(root_mirror) || return 1
  mkdir -p "$dir"
  log=$(mktemp)
  if ! debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    [ -f "$dir/debootstrap/debootstrap.log" ] && tail -n 30 "$dir/debootstrap/debootstrap.log" >&2
    rm -f "$log"
    echo "lib-root: debootstrap bookworm $dir $mirror failed (above)" >&2
    return 1
  fi
  rm -f "$log"
}

# mount_root DIR: what a chroot needs from the host (proc, sys, dev, DNS).
mount_root() {
  local dir=$1
  mkdir -p "$dir/proc" "$dir/sys" "$dir/dev" "$dir/etc"
  mountpoint -q "$dir/proc" || mount -t proc proc "$dir/proc" || return 1
  # rslave: unmounting the copies later never reaches the host's own /dev/pts and the like.
  if ! mountpoint -q "$dir/sys"; then
    mount --rbind /sys "$dir/sys" && mount --make-rslave "$dir/sys" || return 1
  fi
  if ! mountpoint -q "$dir/dev"; then
    mount --rbind /dev "$dir/dev" && mount --make-rslave "$dir/dev" || return 1
  fi
  if [ -e /etc/resolv.conf ]; then
    rm -f "$dir/etc/resolv.conf"
    cp -L /etc/resolv.conf "$dir/etc/resolv.conf"
  fi
}

# umount_root DIR: every mount below DIR, deepest first (rbind brings submounts).
umount_root() {
  local dir m
  dir=$(realpath -m "$1")
  awk -v d="$dir/" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r |
    while read -r m; do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null ||
        echo "lib-root: could not unmount $m" >&2
    done
}

# remove_root DIR: the processes still running inside the root (a server a
# test left) are killed, everything below it unmounted, and DIR removed only
# when no mount is left under it, then without crossing into another file
# system: a bind mount can never take the host's /dev or /sys with it.
remove_root() {
  local dir p
  dir=$(realpath -m "$1")
  [ -d "$dir" ] || return 0
  for p in /proc/[0-9]*; do
    if [ "$(readlink "$p/root" 2>/dev/null)" = "$dir" ]; then
      kill -9 "${p#/proc/}" 2>/dev/null
    fi
  done
  sleep 0.2
  umount_root "$dir"
  if awk -v d="$dir/" 'index($2, d) == 1 {f = 1} END {exit !f}' /proc/self/mounts; then
    echo "lib-root: mounts are left under $dir; it is not removed" >&2
    return 1
  fi
  rm -rf --one-file-system "$dir"
}

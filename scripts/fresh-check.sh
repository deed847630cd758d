#!/bin/sh
# fresh-check.sh [REF [REPO]] - what a new user gets: the README's two
# commands (./scripts/demo.sh, then ./scripts/test.sh) on a fresh Debian 12,
# from a clone of the committed REF (default: main) of REPO (default: the
# repository this script is in). Uncommitted changes are not seen: commit
# first.
#
# A minimal bookworm (debootstrap --variant=minbase plus gcc g++ cmake make
# python3 git) is bootstrapped once and kept as a tarball in
# $MT_FRESH_CACHE (default /var/cache/memtype-fresh/); every run unpacks a new
# copy of it, clones REF into /root/memtype there and runs both commands as
# root in a chroot with a clean environment (env -i HOME=/root
# PATH=/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb), with /proc, /sys, /dev and
# /dev/pts bound from this machine and a new, empty tmpfs on /dev/shm. The
# packages test.sh installs are downloaded once too: the root's apt archive
# directory is $MT_FRESH_CACHE/apt-archives.
#
# After the commands it checks what a test must not leave: a process still
# running in the root, a file in /dev/shm. It prints a summary and exits 0
# only when everything passed. The work directory (a few GB) is removed at
# the end unless MT_FRESH_KEEP=1; the log of each command is kept in
# $MT_FRESH_CACHE/last/. Needs root and debootstrap; the Debian mirror is this
# machine's (MT_DEBIAN_MIRROR names another). About 3 minutes for the first
# bootstrap, then 20-30 minutes on 2 cores.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/debian-root.sh"
ref=${1:-main}
repo=${2:-$(git -C "$here" rev-parse --show-toplevel)}
cache=${MT_FRESH_CACHE:-/var/cache/memtype-fresh}
include=gcc,g++,cmake,make,python3,git
PATH=$PATH:/usr/sbin:/sbin

say() { echo "fresh-check: $*"; }
die() { say "ERROR: $*"; exit 2; }

[ "$(id -u)" = 0 ] || die "needs root (a chroot, mounts)"
command -v debootstrap >/dev/null 2>&1 || die "debootstrap is not installed (apt-get install debootstrap)"
commit=$(git -C "$repo" rev-parse --verify -q "$ref^{commit}") || die "no commit $ref in $repo"
mirror=$(mt_debian_mirror)
[ -n "$mirror" ] || die "no bookworm source in this machine's apt configuration (set MT_DEBIAN_MIRROR)"
mt_mirror_reachable "$mirror" || die "the Debian mirror $mirror cannot be reached"

mkdir -p "$cache/apt-archives/partial" "$cache/last"
work=$(mktemp -d "${TMPDIR:-/var/tmp}/memtype-fresh.XXXXXX")
root=$work/root
mounts="proc sys dev dev/pts dev/shm var/cache/apt/archives"

# Processes whose root is the chroot (a test that left one behind).
in_root_pids() {
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && echo "${p#/proc/}"
  done
  return 0
}

cleanup() {
  rc=$?
  set +e
  for pid in $(in_root_pids); do kill -9 "$pid" 2>/dev/null; done
  for m in $(echo "$mounts" | tr ' ' '\n' | sort -r); do
    if mountpoint -q "$root/$m" 2>/dev/null; then
      umount "$root/$m" 2>/dev/null || umount -l "$root/$m"
    fi
  done
  # nothing may be mounted under the root any more before it is removed
  if grep -q " $root/" /proc/mounts; then
    say "ERROR: still mounted under $root; not removed"
  elif [ "${MT_FRESH_KEEP:-0}" = 1 ]; then
    say "kept $work"
  else
    rm -rf --one-file-system "$work"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

start=$(date +%s)
say "$(git -C "$repo" log -1 --format='%h %s' "$commit" | cut -c1-100)"
say "commit $commit ($ref of $repo); work directory $work"
mkdir -p "$root"
mt_bootstrap "$root" "$mirror" "$work/debootstrap.log" "$cache/bookworm-base.tar" "$include" |
  sed 's/^/fresh-check: /'
[ -x "$root/usr/bin/git" ] || die "the bootstrap failed (see $work/debootstrap.log; MT_FRESH_KEEP=1 keeps it)"
mt_apt_setup "$root" "$mirror"

# A clone as a user makes one: only what is committed, git's own checkout.
git clone -q --no-hardlinks "$repo" "$root/root/memtype"
git -C "$root/root/memtype" -c advice.detachedHead=false checkout -q "$commit"
git -C "$root/root/memtype" status --porcelain | grep -q . && die "the clone is not clean"

mount -t proc proc "$root/proc"
mount --bind /sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$root/dev/shm"
mount --bind "$cache/apt-archives" "$root/var/cache/apt/archives"

# run NAME COMMAND: COMMAND in /root/memtype in the root, with a clean
# environment; its output goes to $cache/last/NAME.log.
run() {
  name=$1
  shift
  log=$cache/last/$name.log
  t0=$(date +%s)
  set +e
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb \
    sh -c 'cd /root/memtype && exec "$@"' sh "$@" >"$log" 2>&1
  status=$?
  set -e
  secs=$(($(date +%s) - t0))
}

failed=0
summary=""
note() { summary="$summary$*
"; }

run demo ./scripts/demo.sh
if [ "$status" = 0 ]; then
  note "PASS  ./scripts/demo.sh (${secs} s)"
else
  failed=1
  note "FAIL  ./scripts/demo.sh: exit $status (${secs} s); log $cache/last/demo.log"
  tail -n 30 "$cache/last/demo.log"
fi

run test ./scripts/test.sh
counts=$(grep -E '^[0-9]+% tests passed' "$cache/last/test.log" | tail -n 1)
if [ "$status" = 0 ]; then
  note "PASS  ./scripts/test.sh (${secs} s): ${counts:-no CTest summary}"
else
  failed=1
  note "FAIL  ./scripts/test.sh: exit $status (${secs} s): ${counts:-no CTest summary}; log $cache/last/test.log"
  if grep -q '^The following tests FAILED' "$cache/last/test.log"; then
    note "$(sed -n '/^The following tests FAILED/,$p' "$cache/last/test.log" | grep -E '^[[:space:]]+[0-9]+ - ' | sed 's/^[[:space:]]*/      failed: /')"
  else
    tail -n 30 "$cache/last/test.log"
  fi
fi
skipped=$(grep -cE '\*\*\*Skipped|Not Run' "$cache/last/test.log" || true)
[ "$skipped" = 0 ] || note "note: $skipped test(s) skipped: $(grep -E '\*\*\*Skipped' "$cache/last/test.log" | sed 's/.*: *//; s/ \.\.\..*//' | tr -s ' \n' ' ')"

left=$(in_root_pids)
if [ -n "$left" ]; then
  failed=1
  note "FAIL  processes left running in the root: $(for p in $left; do tr '\0' ' ' <"/proc/$p/cmdline"; echo; done | cut -c1-80 | tr '\n' ';')"
fi
shm=$(ls -A "$root/dev/shm")
if [ -n "$shm" ]; then
  failed=1
  note "FAIL  files left in /dev/shm: $(echo "$shm" | tr '\n' ' ')"
fi

echo
say "summary for $(git -C "$repo" log -1 --format=%h "$commit") ($ref) on a fresh Debian 12, $(($(date +%s) - start)) s in all:"
printf '%s' "$summary" | sed '/^$/d; s/^/fresh-check: /'
if [ "$failed" = 0 ]; then
  say "PASSED"
else
  say "FAILED"
fi
exit "$failed"

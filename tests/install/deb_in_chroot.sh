#!/bin/sh
# deb_in_chroot.sh DEB_DIR WORK_DIR [BASE_TAR] - the .deb on a fresh Debian 12:
# a minimal bookworm (debootstrap --variant=minbase, plus man-db so that `man`
# exists) in a chroot, where `apt-get install ./memtype_*.deb` must resolve the
# package's dependencies from the mirror, `memtype run -- ls` must work from the
# installed paths with a bare environment, `memtype report` must read the dump,
# `man memtype` (1, 3, 7) must open, and `apt-get purge` must leave nothing.
# BASE_TAR, when given, keeps the bootstrapped system between runs (the first
# run bootstraps it, about 3 minutes; later ones unpack it, seconds); the
# package and its dependencies are installed into a fresh copy every time.
# Exit 77 (skipped) when this machine cannot do it: not root, no debootstrap,
# no Debian mirror. The mirror is the one this machine's apt uses for
# bookworm (its sources), unless MT_DEBIAN_MIRROR names another.
set -eu
debdir=$1
work=$2
base_tar=${3:-}
. "$(dirname "$0")/../../scripts/lib/debian-root.sh"
mirror=$(mt_debian_mirror)
[ -n "$mirror" ] || { echo "SKIPPED: no bookworm source in this machine's apt configuration"; exit 77; }
root=$work/root

skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAILED: $*"; exit 1; }

[ "$(id -u)" = 0 ] || skip "not root: a chroot needs root"
command -v debootstrap >/dev/null 2>&1 ||
  PATH=$PATH:/usr/sbin:/sbin command -v debootstrap >/dev/null 2>&1 ||
  skip "debootstrap is not installed (apt-get install debootstrap)"
PATH=$PATH:/usr/sbin:/sbin
set -- "$debdir"/memtype_*.deb
[ -f "$1" ] || fail "no memtype_*.deb in $debdir (the install_deb test makes it)"
deb=$1
mt_mirror_reachable "$mirror" || skip "the Debian mirror $mirror cannot be reached"

cleanup() {
  if mountpoint -q "$root/proc" 2>/dev/null; then umount "$root/proc" || umount -l "$root/proc"; fi
  mountpoint -q "$root/proc" 2>/dev/null || rm -rf --one-file-system "$work"
}
trap cleanup EXIT
cleanup
mkdir -p "$root"

mt_bootstrap "$root" "$mirror" "$work/debootstrap.log" "$base_tar" man-db || fail "debootstrap"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
mount -t proc proc "$root/proc"
cp "$deb" "$root/tmp/"

# A bare environment, as a user's login gives: no PYTHONPATH, LD_LIBRARY_PATH
# or LD_PRELOAD, the system's PATH.
in_root() {
  chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

t0=$(date +%s)
in_root apt-get update -q >"$work/apt.log" 2>&1 || { cat "$work/apt.log"; fail "apt-get update"; }
in_root apt-get install -y -q "/tmp/$(basename "$deb")" >>"$work/apt.log" 2>&1 ||
  { cat "$work/apt.log"; fail "apt-get install ./$(basename "$deb")"; }
echo "apt-get install of the package and its dependencies: $(($(date +%s) - t0)) s"
sed -n '/^The following NEW packages/,/^[0-9]* upgraded/p' "$work/apt.log"
in_root dpkg -s memtype | grep -q '^Status: install ok installed' || fail "memtype is not installed"
for p in python3; do
  in_root dpkg -s $p 2>/dev/null | grep -q '^Status: install ok installed' || fail "dependency $p was not installed"
done
[ "$(in_root sh -c 'command -v memtype')" = /usr/bin/memtype ] || fail "memtype is not /usr/bin/memtype"
if in_root sh -c 'ldd /usr/lib/libmemtype.so /usr/lib/*/libmemtype.so 2>/dev/null' | grep "not found"; then
  fail "libmemtype.so has missing libraries"
fi

out=$(in_root sh -c 'mkdir -p /tmp/run && cd /tmp/run && memtype run -- ls /usr/share/memtype' 2>&1) ||
  { echo "$out"; fail "memtype run -- ls"; }
echo "$out"
echo "$out" | grep -qx "options.def" || fail "ls printed nothing under memtype"
echo "$out" | grep -q "^memtype: run summary: 1 process (ls); 0 heap errors" || fail "no run summary"
out=$(in_root sh -c 'cd /tmp/run && memtype report --types memtype-run.ls.1/*.mtd' 2>&1) ||
  { echo "$out"; fail "memtype report"; }
echo "$out" | head -5
echo "$out" | grep -q "call sites in ls (pid" || fail "memtype report read no dump"

# The library by name alone (memtype(1) and memtype(7) show it so): the dump
# it writes at exit proves it was loaded.
out=$(in_root sh -c 'LD_PRELOAD=libmemtype.so MEMTYPE_OUTPUT=/tmp/run/by-name.mtd ls -d /' 2>&1) ||
  { echo "$out"; fail "LD_PRELOAD=libmemtype.so ls"; }
[ "$out" = / ] || { echo "$out"; fail "LD_PRELOAD=libmemtype.so ls printed more than its output"; }
[ -s "$root/tmp/run/by-name.mtd" ] || fail "LD_PRELOAD=libmemtype.so: the library was not loaded (no dump)"
for s in 1 3 7; do
  page=$(in_root sh -c "MANPAGER=cat MANWIDTH=80 man $s memtype" 2>&1) || { echo "$page"; fail "man $s memtype"; }
  echo "$page" | head -1
  echo "$page" | grep -q "^MEMTYPE($s)" || fail "man $s memtype shows no memtype($s)"
done
in_root sh -c 'MANPAGER=cat man memtype' | grep -q "MEMTYPE_TRASH" || fail "man memtype has no ENVIRONMENT"
[ -f "$root/usr/share/bash-completion/completions/memtype" ] || fail "no bash completion installed"

in_root apt-get purge -y -q memtype >>"$work/apt.log" 2>&1 || fail "apt-get purge memtype"
for f in /usr/bin/memtype /usr/share/memtype /usr/lib/libmemtype.so /usr/share/man/man1/memtype.1; do
  [ ! -e "$root$f" ] || { ls -laR "$root$f"; fail "$f is left after apt-get purge"; }
done
echo "memtype installed, ran, showed its man pages and was removed on a fresh Debian 12"

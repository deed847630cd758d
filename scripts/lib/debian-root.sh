# debian-root.sh - shell functions for a fresh Debian 12 (bookworm) root in a
# chroot, shared by scripts/fresh-check.sh and tests/install/deb_in_chroot.sh.
# Source it (POSIX sh). The mirror is the one this machine's apt uses for
# bookworm (its sources), unless MT_DEBIAN_MIRROR names another.

# mt_host_uri SUITE: the first URI of this machine's apt sources whose suites
# include SUITE: deb822 .sources files (URIs:/Suites: stanzas), then one-line
# "deb URI SUITE ..." entries.
mt_host_uri() {
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v s="$1" '/^URIs:/ { u = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) { print u; exit } }
         /^$/ { u = "" }' "$f"
  done
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk -v s="$1" '$1 == "deb" && $3 == s { print $2 }'
}

# mt_debian_mirror: MT_DEBIAN_MIRROR, or this machine's bookworm mirror; empty
# when there is none.
mt_debian_mirror() {
  if [ -n "${MT_DEBIAN_MIRROR:-}" ]; then
    echo "$MT_DEBIAN_MIRROR"
  else
    mt_host_uri bookworm | head -n 1
  fi
}

# mt_mirror_reachable MIRROR: true when MIRROR serves bookworm's Release file.
mt_mirror_reachable() {
  python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/dists/bookworm/Release", timeout=20)' \
    "$1" 2>/dev/null
}

# mt_bootstrap ROOT MIRROR LOG [CACHE_TAR [INCLUDE]]: a minimal bookworm
# (debootstrap --variant=minbase, plus the comma-separated INCLUDE packages) in
# the empty directory ROOT. With CACHE_TAR, the first run saves the system
# there and later runs unpack it (seconds instead of minutes); a cache made
# with another INCLUDE list (its CACHE_TAR.include says) is made anew. Prints what it did; false when
# debootstrap fails (its log is LOG).
mt_bootstrap() {
  _root=$1 _mirror=$2 _log=$3 _tar=${4:-} _inc=${5:-}
  _t0=$(date +%s)
  # (a cache without its .include file predates it: taken as it is)
  if [ -n "$_tar" ] && [ -f "$_tar" ] &&
    { [ ! -f "$_tar.include" ] || [ "$(cat "$_tar.include")" = "$_inc" ]; }; then
    tar -C "$_root" -xf "$_tar" || return 1
    echo "bookworm unpacked from $_tar in $(($(date +%s) - _t0)) s"
    return 0
  fi
  # shellcheck disable=SC2086
  debootstrap --variant=minbase ${_inc:+--include=$_inc} bookworm "$_root" "$_mirror" >"$_log" 2>&1 ||
    { tail -20 "$_log"; return 1; }
  # the downloaded .debs are not part of the system
  rm -f "$_root"/var/cache/apt/archives/*.deb
  echo "bookworm bootstrapped in $(($(date +%s) - _t0)) s"
  if [ -n "$_tar" ]; then
    mkdir -p "$(dirname "$_tar")" && tar -C "$_root" -cf "$_tar.tmp" . && mv "$_tar.tmp" "$_tar" &&
      printf '%s\n' "$_inc" >"$_tar.include"
  fi
}

# mt_apt_setup ROOT MIRROR: apt in ROOT as on an installed Debian 12: bookworm
# and bookworm-updates from MIRROR, bookworm-security from this machine's
# security source when it has one; this machine's resolv.conf for the names.
mt_apt_setup() {
  {
    echo "deb $2 bookworm main"
    echo "deb $2 bookworm-updates main"
    _sec=$(mt_host_uri bookworm-security | head -n 1)
    [ -z "$_sec" ] || echo "deb $_sec bookworm-security main"
  } >"$1/etc/apt/sources.list"
  cp /etc/resolv.conf "$1/etc/resolv.conf" 2>/dev/null || true
}

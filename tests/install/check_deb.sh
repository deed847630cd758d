#!/bin/sh
# check_deb.sh BUILD_DIR OUT_DIR - builds the .deb with CPack from the build
# tree and checks it: its file list (the command, the library, the header, the
# man pages, the completion, memtype.pc, the CMake package) and its control
# fields (Depends on libc6 and python3 and nothing else: libunwind no longer;
# a symbolizer recommended).
set -eu
build=$1
out=$2
fail() { echo "FAILED: $*"; exit 1; }
command -v dpkg-deb >/dev/null 2>&1 || { echo "SKIPPED: dpkg-deb is not installed"; exit 77; }
rm -rf "$out"
mkdir -p "$out"
cpack --config "$build/CPackConfig.cmake" -G DEB -B "$out" >"$out/cpack.log" 2>&1 ||
  { cat "$out/cpack.log"; fail "cpack"; }
rm -rf "$out/_CPack_Packages"
set -- "$out"/memtype_*_*.deb
[ -f "$1" ] && [ $# = 1 ] || fail "cpack made no single memtype_<version>_<arch>.deb: $*"
deb=$1
echo "$deb"
dpkg-deb -f "$deb"
files=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|')
for want in /usr/bin/memtype '/usr/lib/(.*/)?libmemtype\.so' /usr/include/memtype.h \
    /usr/share/man/man1/memtype.1 /usr/share/man/man3/memtype.3 /usr/share/man/man7/memtype.7 \
    /usr/share/bash-completion/completions/memtype '/usr/lib/(.*/)?pkgconfig/memtype\.pc' \
    '/usr/lib/(.*/)?cmake/memtype/memtypeConfig\.cmake' \
    '/usr/lib/(.*/)?cmake/memtype/memtypeConfigVersion\.cmake' \
    '/usr/lib/(.*/)?cmake/memtype/memtypeTargets\.cmake' \
    /usr/share/memtype/options.def /usr/share/memtype/python/memtype_report/cli.py; do
  echo "$files" | grep -Eqx "$want" || fail "$want is not in the package"
done
echo "$files" | grep -E '__pycache__|\.pyc$|/usr/local/' && fail "the package holds files it should not"
[ "$(dpkg-deb -f "$deb" Package)" = memtype ] || fail "the package is not named memtype"
depends=$(dpkg-deb -f "$deb" Depends)
for dep in python3 libc6; do
  echo "$depends" | tr ',' '\n' | grep -Eq "^ *$dep( |$)" || fail "Depends: $depends lacks $dep"
done
echo "$depends" | grep -q unwind && fail "Depends: $depends names libunwind (memtype unwinds itself)"
extra=$(echo "$depends" | tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep -Evx 'python3|libc6' || true)
[ -z "$extra" ] || fail "Depends: $depends has more than libc6 and python3: $extra"
dpkg-deb -f "$deb" Recommends | grep -q binutils || fail "binutils (addr2line) is not recommended"
tmp=$out/x
dpkg-deb -x "$deb" "$tmp"
head -1 "$tmp/usr/bin/memtype" | grep -qx '#!/usr/bin/python3' || fail "the command's #! is not /usr/bin/python3"
grep -q "$build" "$tmp/usr/bin/memtype" && fail "the installed command names the build tree"
rm -rf "$tmp"
echo "the .deb holds every piece and depends on what it needs"

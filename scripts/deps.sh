#!/bin/sh
# deps.sh [build|test|bench|peers] - installs the Debian packages memtype needs for
# that job when any is missing: with apt-get when run as root, otherwise it
# names them and stops. Safe to run again: it installs nothing when all are there.
set -eu
job=${1:-test}
build="gcc g++ cmake make pkg-config check python3"
# Real programs the tests run under the preload, and what they need
# (php-cli: with its shared extensions, opened with RTLD_DEEPBIND).
# chromium: the HTML report's test opens the page headless. groff-base, man-db,
# dpkg-dev, file, debootstrap, bash-completion: the man pages, the .deb (its
# shared-library dependencies, then apt on a fresh Debian 12 in a chroot) and
# the completion. clang, libclang-rt-14-dev: the fuzz targets (libFuzzer).
# libpython3.11-testsuite: CPython's own tests (a smoke run in CI, the full
# comparison by tests/cpython/run_cpython_tests.py). postgresql, nginx,
# redis-server, redis-tools, curl, util-linux (setpriv): the servers of the
# real-program tests (tests/real/server_case.sh); their own services are kept
# from starting at install (below). nodejs: a real-program case (threads
# with small stacks, worker threads). gdb: the captured stacks are compared
# with its backtraces (tests/unwind). zlib1g-dev: the reference encoder of the
# inflate unit test (compressed debug sections).
test="$build sqlite3 tcl perl git xz-utils tar bash php-cli binutils diffutils findutils sed coreutils chromium
  groff-base man-db dpkg-dev graphviz fontconfig file debootstrap bash-completion clang libclang-rt-14-dev
  libpython3.11-testsuite postgresql nginx redis-server redis-tools curl util-linux gdb nodejs zlib1g-dev"
# peers: the plain allocators and callgrind of bench/programs.py.
peers="gcc libjemalloc2 libmimalloc2.0 libgoogle-perftools4 valgrind"
bench="$test time libjemalloc2 libmimalloc2.0 libgoogle-perftools4 heaptrack valgrind electric-fence duma libdmalloc5"
case "$job" in
build) want=$build ;;
test) want=$test ;;
bench) want=$bench ;;
peers) want=$peers ;;
*) echo "usage: deps.sh build|test|bench|peers" >&2; exit 2 ;;
esac
missing=""
for p in $want; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "memtype: installing Debian packages:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # Debian starts a service it installs (postgresql, nginx, redis-server)
  # unless /usr/sbin/policy-rc.d says no: the tests start their own, on a
  # socket of their own, and want none running. A policy-rc.d of ours, for
  # the install only, when there is none.
  ours=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    ours=1
  fi
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null || st=$?
  [ -z "$ours" ] || rm -f /usr/sbin/policy-rc.d
  [ "${st:-0}" = 0 ] || exit "$st"
else
  echo "memtype: missing Debian packages:$missing" >&2
  echo "memtype: install them with: sudo apt-get install -y$missing" >&2
  exit 1
fi

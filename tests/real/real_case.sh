#!/usr/bin/env bash
# real_case.sh CASE LIB: one real-program test, run through run_compare.sh.
# Used by CTest (tests/real/CMakeLists.txt registers real_CASE for each case)
# and by hand:
#
#   tests/real/real_case.sh python_churn build/lib/libmemtype.so
#   MT_EXPECT_SUMMARY=0 tests/real/real_case.sh sqlite /usr/lib/x86_64-linux-gnu/libjemalloc.so.2
#   tests/real/real_case.sh --list
#
# Inputs that need generating (the SQL script, the C/C++ sources) are written
# to a temp dir outside the preload, so only the program under test (and
# what it spawns) runs with memtype.  A program that is not installed makes
# the case exit 77 (CTest: skipped; packages.txt lists what to install);
# MT_REAL_REQUIRE=1 turns that into a failure.
#
# Environment: MT_REAL_PYTHON (python3 for the python cases and the
# generators, default /usr/bin/python3, Debian's), MT_REAL_SMALL=1 (a
# reduced input, about a tenth: for the slowest modes), plus everything
# run_compare.sh reads (MT_EXPECT_SUMMARY, MT_REAL_KEEP, MT_REAL_TIMEOUT).
set -u
here=$(cd "$(dirname "$0")" && pwd)
cases="python_churn python_threads sqlite gcc_c gxx_cpp clangxx_cpp git perl tcl bash tar_xz graphviz php node postgres nginx redis"

if [ "${1:-}" = --list ]; then printf '%s\n' $cases; exit 0; fi
[ $# -eq 2 ] || { echo "usage: $0 CASE LIB  (CASE: $cases)" >&2; exit 2; }
case=$1 lib=$2

if [ -n "${MT_REAL_PYTHON:-}" ]; then py=$MT_REAL_PYTHON
elif [ -x /usr/bin/python3 ]; then py=/usr/bin/python3
else py=python3; fi

need() { # program... : skip (77) unless every one is installed
  local p
  for p in "$@"; do
    if ! command -v "$p" >/dev/null 2>&1; then
      echo "SKIP: '$p' is not installed (tests/real/packages.txt lists the Debian packages)"
      [ "${MT_REAL_REQUIRE:-0}" = 1 ] && exit 1
      exit 77
    fi
  done
}

gen=
cleanup() { [ -z "$gen" ] || rm -rf "$gen"; }
trap cleanup EXIT
mkgen() { gen=$(mktemp -d "${TMPDIR:-/tmp}/mt-real-gen.XXXXXX") || exit 2; }

rc=$here/run_compare.sh
# sz FULL SMALL: the input size for this run (MT_REAL_SMALL=1: the small one)
sz() { if [ "${MT_REAL_SMALL:-0}" = 1 ]; then echo "$2"; else echo "$1"; fi; }
pyenv=(--env PYTHONMALLOC=malloc --env PYTHONHASHSEED=0 --env PYTHONDONTWRITEBYTECODE=1)

case $case in
  python_churn)
    need "$py"
    "$rc" "${pyenv[@]}" --min-allocs "$(sz 1000000 100000)" "$lib" "$case" -- \
      "$py" "$here/python_churn.py" "$(sz 8 1)" ;;
  python_threads)
    need "$py"
    "$rc" "${pyenv[@]}" --min-allocs "$(sz 1000000 100000)" "$lib" "$case" -- \
      "$py" "$here/python_threads.py" "$(sz 4000 400)" ;;
  sqlite)
    need sqlite3 "$py"
    mkgen
    "$py" "$here/gen_sqlite.py" "$gen" "$(sz 120000 12000)" || { echo "gen_sqlite.py failed"; exit 1; }
    "$rc" --stdin "$gen/script.sql" --expect-stdout "$gen/expected.txt" --min-allocs "$(sz 1000000 100000)" \
      "$lib" "$case" -- sqlite3 -bail :memory: ;;
  gcc_c|gxx_cpp|clangxx_cpp)
    # clang++: C++ that assumes operator new's 16-byte alignment (movaps on
    # a new'd object), LLVM's own allocators, libstdc++ under another compiler.
    case $case in
      gcc_c) cc=gcc src=gen.c ;;
      gxx_cpp) cc=g++ src=gen.cpp ;;
      *) cc=clang++ src=gen.cpp ;;
    esac
    need "$cc" objdump size nm "$py"
    mkgen
    "$py" "$here/gen_sources.py" "$gen" "$(sz 400 40)" || { echo "gen_sources.py failed"; exit 1; }
    # gen.c/gen.cpp is copied into the work dir and compiled by relative
    # name; the object is compared byte for byte (--compare-tree).
    "$rc" --copy-in "$gen/$src" --compare-tree --min-allocs "$(sz 500000 50000)" "$lib" "$case" -- \
      bash "$here/cc_case.sh" "$cc" "$src" gen.o -O2 -Wall -frandom-seed=memtype ;;
  git)
    need git
    "$rc" --min-allocs 10000 "$lib" "$case" -- bash "$here/git_case.sh" ;;
  perl)
    need perl
    "$rc" --min-allocs "$(sz 500000 50000)" "$lib" "$case" -- perl "$here/perl_churn.pl" "$(sz 6 1)" ;;
  tcl)
    tcl=tclsh8.6
    command -v "$tcl" >/dev/null 2>&1 || tcl=tclsh
    need "$tcl"
    "$rc" --min-allocs 1000 "$lib" "$case" -- "$tcl" "$here/tcl_churn.tcl" "$(sz 6 1)" ;;
  bash)
    need bash
    "$rc" --min-allocs 10000 "$lib" "$case" -- bash "$here/bash_churn.sh" ;;
  tar_xz)
    need tar xz
    "$rc" --min-allocs 1000 "$lib" "$case" -- bash "$here/tar_xz_case.sh" ;;
  graphviz)
    # dot drawing text through pango, cairo and fontconfig, and fontconfig's
    # own tools (fontconfig tags the low bit of its strings' pointers).
    need dot fc-match fc-list fc-pattern
    "$rc" --min-allocs "$(sz 20000 5000)" "$lib" "$case" -- bash "$here/graphviz_case.sh" "$(sz 4 1)" ;;
  php)
    # php-cli with Debian's shared extensions (conf.d), which it dlopens with
    # RTLD_DEEPBIND: their malloc and free must still be memtype's.
    # USE_ZEND_ALLOC=0: the engine's own pools off, every block is malloc's.
    need php
    "$rc" --env USE_ZEND_ALLOC=0 --min-allocs "$(sz 100000 10000)" "$lib" "$case" -- php "$here/php_churn.php" "$(sz 4 1)" ;;
  node)
    # Node.js: V8's heap is its own, but V8's and node's C++ objects, libuv's
    # thread pool, zlib and OpenSSL allocate through malloc; node starts
    # platform threads with small stacks (memtype's thread-local state must
    # fit beside them) and the case starts two worker threads.
    need node
    "$rc" --min-allocs "$(sz 20000 5000)" "$lib" "$case" -- node "$here/node_churn.js" "$(sz 4 1)" ;;
  postgres|nginx|redis)
    # Servers: only the server's processes run under memtype (the driver
    # preloads them from MT_SERVER_PRELOAD); its stdout is the query
    # results, the bodies fetched, the replies. stderr holds the server's
    # memtype lines (checked) and timings (not compared).
    case $case in
      postgres) need pg_isready psql pgbench setpriv
                ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need postgres ;;
      nginx) need nginx curl ;;
      redis) need redis-server redis-cli redis-benchmark setpriv ;;
    esac
    need "$py"
    "$rc" --preload-var MT_SERVER_PRELOAD --no-stderr --min-allocs 1000 "$lib" "$case" -- \
      bash "$here/server_case.sh" "$case" "$(sz 1 0)" ;;
  *)
    echo "unknown case '$case' (cases: $cases)" >&2; exit 2 ;;
esac

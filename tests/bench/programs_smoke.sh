#!/bin/sh
# programs_smoke.sh BINDIR LIBMEMTYPE - runs each benchmark program of
# bench/programs/ (built as BINDIR/bench_NAME) small, first under glibc, then
# with LD_PRELOAD=LIBMEMTYPE and the variables in $MT_SMOKE_ENV ("A=1 B=2").
# Each memtype run must exit 0, print the same check line as glibc (the
# programs check their blocks' contents themselves and exit 1 on a loss), and
# write no memtype error or leak line on stderr. Exits 1 on the first failure.
set -u
bindir=$1
lib=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
run() { # name args...
  name=$1
  shift
  exe=$bindir/bench_$name
  if ! env LD_PRELOAD= "$exe" "$@" >"$tmp/glibc.out" 2>"$tmp/glibc.err"; then
    echo "FAIL $name $*: exit $? under glibc"; cat "$tmp/glibc.err"; fail=1; return
  fi
  # shellcheck disable=SC2086
  env LD_PRELOAD="$lib" MEMTYPE_OUTPUT=off ${MT_SMOKE_ENV:-} "$exe" "$@" >"$tmp/mt.out" 2>"$tmp/mt.err"
  st=$?
  if [ $st -ne 0 ]; then
    echo "FAIL $name $*: exit $st under memtype ${MT_SMOKE_ENV:-}"; tail -20 "$tmp/mt.err"; fail=1; return
  fi
  if ! cmp -s "$tmp/glibc.out" "$tmp/mt.out"; then
    echo "FAIL $name $*: output differs from glibc's"; diff "$tmp/glibc.out" "$tmp/mt.out"; fail=1; return
  fi
  if grep -E "^memtype: (ERROR|LEAK|warning)" "$tmp/mt.err"; then
    echo "FAIL $name $*: memtype reported on stderr"; fail=1; return
  fi
  if ! grep -q "^ops=[1-9]" "$tmp/mt.err" && [ "$name" != pairs ] && [ "$name" != wide_loop ]; then
    echo "FAIL $name $*: no timing line on stderr"; fail=1; return
  fi
  echo "ok   $name $*: $(cat "$tmp/mt.out")"
}
run larson 1 20000
run larson 4 40000 200
run smallobj 50000
run bigloop 12 2 24
run prodcons 1 20000
run prodcons 3 20000
run pairs 20000
run wide_loop 20000
exit $fail

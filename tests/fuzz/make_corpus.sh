#!/bin/sh
# make_corpus.sh - regenerates the fuzzers' seed corpus:
#   tests/fuzz/corpus/dump/*.mtd   real dumps of corpus_prog.c under the preload
#   tests/fuzz/corpus/options/*    MEMTYPE_* environments, one entry a line
# Usage: tests/fuzz/make_corpus.sh [BUILD_DIR]   (default: build; it must hold
# lib/libmemtype.so). The dumps are small (a few KB) and checked in; rerun this
# when the dump format changes.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
lib=$build/lib/libmemtype.so
[ -f "$lib" ] || { echo "make_corpus.sh: no $lib; build first or name the build dir" >&2; exit 2; }
cc=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$cc" -O1 -g -fno-builtin -I"$root/include" -o "$tmp/corpus_prog" "$here/corpus_prog.c" -ldl

out=$here/corpus/dump
mkdir -p "$out"
rm -f "$out"/*.mtd
# name, extra environment, argument
run() {
  name=$1; shift
  arg=$1; shift
  env LD_PRELOAD="$lib" MEMTYPE_OUTPUT="$tmp/$name.mtd" "$@" "$tmp/corpus_prog" $arg \
    >/dev/null 2>"$tmp/$name.err" || true
  [ -s "$tmp/$name.mtd" ] || { echo "make_corpus.sh: $name: no dump" >&2; cat "$tmp/$name.err" >&2; exit 1; }
  cp "$tmp/$name.mtd" "$out/$name.mtd"
}
run plain "" MEMTYPE_LEAKS=1
run deep "" MEMTYPE_DEPTH=4 MEMTYPE_TYPES="lists=lose_list"
run failures "" MEMTYPE_FAILURE_RATE=5 MEMTYPE_FAILURE_SEED=7
run errors double-free MEMTYPE_ON_ERROR=continue MEMTYPE_TRASH=1
run guard "" MEMTYPE_GUARD='*' MEMTYPE_LEAKS=0
run forked fork MEMTYPE_LEAKS=0
run ending double-free MEMTYPE_LEAK_EXITCODE=3  # 1.5: ENDING (killed by SIGABRT, error)
chmod 644 "$out"/*.mtd
ls -l "$out"

# Environments: NAME=VALUE a line (fuzz_options.c splits on newlines when
# the input has no NUL). The first byte is the target's control byte (the
# error buffer's length; bit 7 set = secure-execution mode).
o=$here/corpus/options
mkdir -p "$o"
printf '\177MEMTYPE_DEPTH=4\nMEMTYPE_OUTPUT=/tmp/x.%%e.%%p.mtd\nMEMTYPE_ON_ERROR=exit:3\nPATH=/usr/bin\n' >"$o/basic"
printf '\177MEMTYPE_QUARANTINE=16M\nMEMTYPE_GUARD_MAXSIZE=1G\nMEMTYPE_FAILURE_SEED=9000000000000000000\nMEMTYPE_FAILURE_TIMES=1000000000000\n' >"$o/sizes"
printf '\177MEMTYPE_TRASH=yes\nMEMTYPE_REDZONE=on\nMEMTYPE_LEAKS=off\nMEMTYPE_STATS=true\nMEMTYPE_VERBOSE=0\n' >"$o/bools"
printf '\177MEMTYPE_TYPES=parser=parse_*;lists=*list*\nMEMTYPE_SKIP=xmalloc,g_malloc*,*libstdc++*\nMEMTYPE_GUARD=*\nMEMTYPE_GUARD_SIDE=around\nMEMTYPE_DUMP_SIGNAL=SIGUSR2\n' >"$o/strings"
printf '\177MEMTYPE_DETPH=1\nMEMTYPE_CMD_LIB=x\nMEMTYPE_=\nMEMTYPE_TRASH\nMEMTYPE_REDZONE=maybe\n' >"$o/unknown"
printf '\010MEMTYPE_QUARANTINE=99999999999999999999G\n' >"$o/overflow"
printf '\377MEMTYPE_DEPTH=99\n' >"$o/secure"
printf '\177MEMTYPE_ON_ERROR=continue\0MEMTYPE_FAILURE_RATE=1\0MEMTYPE_DUMP_SIGNAL=12\0MEMTYPE_LEAK_LINES=64K\0' >"$o/nul_separated"
ls -l "$o"

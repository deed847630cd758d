#!/usr/bin/env bash
# run_compare.sh: run one real program twice, once plain and once with the
# memtype preload in charge of its heap, and fail unless both runs agree.
#
#   run_compare.sh [options] LIB NAME -- command [args...]
#
# LIB   the preload library (libmemtype.so), put into LD_PRELOAD for the
#       second run together with MEMTYPE_STATS=1.
# NAME  a short name for messages and for the temp dir.
#
# Both runs start in a fresh, empty work directory that has the same absolute
# path each time ($base/work, renamed away after each run), with the same
# stdin, the same environment (apart from LD_PRELOAD/MEMTYPE_*) and their own
# empty TMPDIR (also at the same path).  The test fails unless:
#   - the plain run exits with the expected status (default 0) and the
#     preload run exits with the same status (timeouts count as failures);
#   - stdout is byte-for-byte identical (and equal to --expect-stdout FILE);
#   - stderr is identical once memtype's statistics (the `memtype: summary: `
#     lines and the per-type tables MEMTYPE_STATS=1 prints) are taken out
#     (unless --no-stderr);
#   - the preload run's stderr holds at least one `memtype: summary: ` line
#     with `<N> allocations`, N > 0 (the sum over all lines >= --min-allocs);
#     MT_EXPECT_SUMMARY=0 turns this off, for manual runs with another
#     preloadable allocator (e.g. libjemalloc.so.2) - never in CTest;
#   - the preload run printed no other `memtype` line on stderr (an ERROR or
#     warning from the debugger on a sane Debian program is a finding);
#   - with --compare-tree, the files each run left in its work dir are equal.
#
# Options:
#   --stdin FILE        stdin for both runs (default /dev/null)
#   --env VAR=VALUE     set in both runs (repeatable)
#   --copy-in PATH      copy PATH (file or dir) into the work dir before each
#                       run (repeatable)
#   --expect-status N   exit status the plain run must have (default 0);
#                       `any` accepts whatever it is (both must still agree)
#   --expect-stdout F   both runs' stdout must equal file F
#   --no-stderr         do not compare stderr
#   --allow-empty-stdout  do not insist that the program printed something
#   --compare-tree      compare the work dirs left by the two runs
#   --tree-exclude PAT  path glob (relative, e.g. './.git/index') left out of
#                       --compare-tree (repeatable)
#   --min-allocs N      the preload run must report at least N allocations
#                       (summed over all its `memtype: summary:` lines)
#   --timeout SECS      per run (default $MT_REAL_TIMEOUT or 300)
#   --preload-var VAR   the preload run gets VAR=LIB instead of LD_PRELOAD=LIB
#                       (the MEMTYPE_* options as usual): for a driver script
#                       that preloads only the programs under test (a server)
#                       and not its own tools (curl, psql, the shell itself)
#
# Environment: MT_EXPECT_SUMMARY=0 (see above), MT_REAL_KEEP=1 keeps the temp
# dir for inspection, MT_REAL_DIFF_LINES (default 40) lines of diff shown.
#
# Exit: 0 pass, 1 mismatch, 2 usage or setup error.

set -u
export LC_ALL=C

prog=${0##*/}
usage() { echo "usage: $prog [options] LIB NAME -- command [args...]" >&2; exit 2; }
die() { echo "$prog: $*" >&2; exit 2; }

stdin_file=/dev/null
envs=()
copy_in=()
expect_status=0
expect_stdout=
cmp_stderr=1
allow_empty=0
cmp_tree=0
tree_excl=()
min_allocs=1
preload_var=LD_PRELOAD
tmo=${MT_REAL_TIMEOUT:-300}
difflines=${MT_REAL_DIFF_LINES:-40}

while [ $# -gt 0 ]; do
  case $1 in
    --stdin) [ $# -ge 2 ] || usage; stdin_file=$2; shift 2 ;;
    --env) [ $# -ge 2 ] || usage
           case $2 in *=*) ;; *) die "--env wants VAR=VALUE, got '$2'" ;; esac
           envs+=("$2"); shift 2 ;;
    --copy-in) [ $# -ge 2 ] || usage; copy_in+=("$2"); shift 2 ;;
    --expect-status) [ $# -ge 2 ] || usage; expect_status=$2; shift 2 ;;
    --expect-stdout) [ $# -ge 2 ] || usage; expect_stdout=$2; shift 2 ;;
    --no-stderr) cmp_stderr=0; shift ;;
    --allow-empty-stdout) allow_empty=1; shift ;;
    --compare-tree) cmp_tree=1; shift ;;
    --tree-exclude) [ $# -ge 2 ] || usage; tree_excl+=("$2"); shift 2 ;;
    --min-allocs) [ $# -ge 2 ] || usage; min_allocs=$2; shift 2 ;;
    --timeout) [ $# -ge 2 ] || usage; tmo=$2; shift 2 ;;
    --preload-var) [ $# -ge 2 ] || usage; preload_var=$2; shift 2 ;;
    -h|--help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    --) break ;;
    -*) die "unknown option '$1'" ;;
    *) break ;;
  esac
done
[ $# -ge 4 ] || usage
lib=$1 name=$2
[ "$3" = "--" ] || usage
shift 3

case $min_allocs in ''|*[!0-9]*) die "--min-allocs wants a number" ;; esac
[ "$min_allocs" -ge 1 ] || min_allocs=1
case $tmo in ''|*[!0-9]*) die "--timeout wants seconds" ;; esac
[ -f "$lib" ] || die "preload library '$lib' does not exist (build the memtype target first)"
case $lib in /*) ;; *) lib=$(cd "$(dirname "$lib")" && pwd)/${lib##*/} ;; esac
[ -r "$stdin_file" ] || die "stdin file '$stdin_file' is not readable"
case $stdin_file in /*) ;; *) stdin_file=$PWD/$stdin_file ;; esac
if [ -n "$expect_stdout" ]; then
  [ -r "$expect_stdout" ] || die "expected-stdout file '$expect_stdout' is not readable"
  case $expect_stdout in /*) ;; *) expect_stdout=$PWD/$expect_stdout ;; esac
fi
for p in "${copy_in[@]+"${copy_in[@]}"}"; do
  [ -e "$p" ] || die "--copy-in '$p' does not exist"
done
command -v timeout >/dev/null || die "timeout (coreutils) not found"

base=$(mktemp -d "${TMPDIR:-/tmp}/mt-real-$name.XXXXXX") || die "mktemp failed"
cleanup() {
  if [ "${MT_REAL_KEEP:-0}" = 1 ]; then echo "$prog: kept $base" >&2
  else rm -rf "$base"; fi
}
trap cleanup EXIT
child=
on_signal() { # pass the signal on to timeout, which passes it to the command
  if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; fi
  exit 130
}
trap on_signal INT TERM HUP

# Variables cleared for both runs, so that a preload in the caller's own
# environment can't leak into the plain run.
unset_args=(-u LD_PRELOAD -u "$preload_var")
while IFS= read -r v; do unset_args+=(-u "$v"); done < <(compgen -e | grep '^MEMTYPE_')
# Keep the caller's MEMTYPE_* options (other than STATS) for the preload run.
mt_opts=()
while IFS= read -r v; do
  [ "$v" = MEMTYPE_STATS ] || mt_opts+=("$v=${!v}")
done < <(compgen -e | grep '^MEMTYPE_')

# run_one MODE: run the command in $base/work; leave MODE.{out,err,status,time}
# and the work dir as $base/MODE.tree.
run_one() {
  local mode=$1 t0 t1 st
  shift
  rm -rf "$base/work" "$base/tmp"
  mkdir -p "$base/work" "$base/tmp"
  for p in "${copy_in[@]+"${copy_in[@]}"}"; do cp -a "$p" "$base/work/" || return 2; done
  local pre=()
  if [ "$mode" = preload ]; then
    # Dumps go beside the work dir, never into it (the outputs compared);
    # every process of the tree writes one, as each prints a summary.
    mkdir -p "$base/dumps"
    pre=(env "${mt_opts[@]+"${mt_opts[@]}"}" MEMTYPE_STATS=1 MEMTYPE_DUMP_CHILDREN=1
      "MEMTYPE_OUTPUT=$base/dumps/memtype.%e.%p.mtd" "$preload_var=$lib")
  fi
  t0=$(date +%s%N)
  # timeout itself runs without the preload; only the command (and whatever
  # it spawns) gets it.  timeout signals the whole process group.
  # Started in the background and waited for, so that a signal to this
  # script is acted on at once (on_signal passes it on to timeout).
  (cd "$base/work" &&
    exec env "${unset_args[@]}" TMPDIR="$base/tmp" "${envs[@]+"${envs[@]}"}" \
      timeout -k 10 "$tmo" "${pre[@]+"${pre[@]}"}" "$@") \
      <"$stdin_file" >"$base/$mode.out" 2>"$base/$mode.err" &
  child=$!
  wait "$child"
  st=$?
  child=
  t1=$(date +%s%N)
  echo "$st" >"$base/$mode.status"
  local ds=$(( (t1 - t0) / 100000000 ))
  echo "$((ds / 10)).$((ds % 10))" >"$base/$mode.time"
  mv "$base/work" "$base/$mode.tree"
}

fails=()
fail() { fails+=("$*"); echo "FAIL[$name]: $*"; }

show_diff() { # label fileA fileB
  echo "---- $1: diff (plain vs preload), first $difflines lines ----"
  diff -u --text --label plain --label preload "$2" "$3" | head -n "$difflines"
  cmp "$2" "$3" 2>&1 | head -n 1
  echo "---- end of $1 diff ----"
}

run_one plain "$@"
run_one preload "$@"

ps=$(cat "$base/plain.status") ls=$(cat "$base/preload.status")
echo "${prog}[$name]: plain: exit $ps in $(cat "$base/plain.time")s; preload: exit $ls in $(cat "$base/preload.time")s"

status_meaning() {
  case $1 in
    124) echo " (timed out after ${tmo}s)" ;;
    137) echo " (killed: SIGKILL, e.g. after the timeout)" ;;
    126|127) echo " (could not run the command)" ;;
    1[3-9][0-9]|2[0-5][0-9]) echo " (killed by signal $(( $1 - 128 )) $(kill -l $(( $1 - 128 )) 2>/dev/null))" ;;
  esac
}

# 1. exit status
if [ "$expect_status" != any ] && [ "$ps" != "$expect_status" ]; then
  fail "plain run exited $ps$(status_meaning "$ps"), expected $expect_status (the test itself is broken, or the program is missing)"
  echo "---- plain stderr (tail) ----"; tail -n 20 "$base/plain.err"
fi
for m in plain preload; do
  st=$(cat "$base/$m.status")
  if [ "$st" = 124 ] || [ "$st" = 137 ]; then fail "the $m run timed out (exit $st, limit ${tmo}s)"; fi
done
if [ "$ps" != "$ls" ]; then
  fail "exit status differs: plain $ps, preload $ls$(status_meaning "$ls")"
  echo "---- preload stderr (tail) ----"; tail -n 20 "$base/preload.err"
fi

# 2. stdout
if [ "$allow_empty" = 0 ] && [ ! -s "$base/plain.out" ]; then
  fail "plain run printed nothing on stdout: nothing to compare"
fi
if ! cmp -s "$base/plain.out" "$base/preload.out"; then
  fail "stdout differs ($(wc -c <"$base/plain.out") bytes plain, $(wc -c <"$base/preload.out") bytes preload)"
  show_diff stdout "$base/plain.out" "$base/preload.out"
fi
if [ -n "$expect_stdout" ]; then
  for m in plain preload; do
    if ! cmp -s "$expect_stdout" "$base/$m.out"; then
      fail "$m stdout differs from the expected output $expect_stdout"
      echo "---- expected vs $m stdout, first $difflines lines ----"
      diff -u --text --label expected --label "$m" "$expect_stdout" "$base/$m.out" | head -n "$difflines"
    fi
  done
fi

# 3. memtype lines on the preload run's stderr.  MEMTYPE_STATS=1 prints the
# summary line and a per-type table (header, rows, "... N more types"); the
# leak scan at exit prints LEAK lines and a leak summary when a program leaves
# lost blocks behind (perl does: its interpreter is freed, what it pointed to
# is not).  Those are taken out before stderr is compared.  Any other line
# starting with "memtype" (ERROR, warning, error, "memtype will now ...") is a
# finding.
# A process whose stderr stopped being the one it started with (nginx moves
# its error log onto fd 2; ls closes it) has its memtype lines in
# <dump>.log instead (README, "Where the reports go"): they count as its
# stderr's memtype lines here.
for l in "$base"/dumps/*.log; do
  [ -e "$l" ] && cat "$l" >>"$base/preload.err"
done
sum_re='memtype: summary: '
stats_re='^memtype: (summary: |.*Type.* +InUse +MemUse +HighUse +Requests +Size\(s\)$|.+ [0-9]+ +[0-9]+[BK] +[0-9]+[BK] +[0-9]+  .*$|\.\.\. [0-9]+ more types|guard pages \((madvise|mprotect)\): |LEAK: |leak summary: |\.\.\. [0-9]+ more leak records)'
grep -Ev "$stats_re" "$base/preload.err" >"$base/preload.err.stripped"
grep -Ev "$stats_re" "$base/plain.err" >"$base/plain.err.stripped"
nsum=$(grep -c "$sum_re" "$base/preload.err")
if grep -q "$sum_re" "$base/plain.err"; then
  fail "the plain run printed a memtype summary: the preload leaked into it"
fi
total=0 nonzero=0
while read -r n _; do
  total=$((total + n))
  [ "$n" -gt 0 ] && nonzero=$((nonzero + 1))
done < <(grep -o "$sum_re.*" "$base/preload.err" | grep -oE '[0-9]+ allocations')
if [ "${MT_EXPECT_SUMMARY:-1}" = 0 ]; then
  echo "${prog}[$name]: summary check off (MT_EXPECT_SUMMARY=0); $nsum summary line(s) seen"
elif [ "$nsum" -eq 0 ]; then
  fail "the preload run printed no '$sum_re' line on stderr: memtype was not in charge (LD_PRELOAD=$lib)"
elif [ "$nonzero" -eq 0 ]; then
  fail "no '$sum_re' line reports a nonzero '<N> allocations' count:"
  grep "$sum_re" "$base/preload.err" | head -n 5
elif [ "$total" -lt "$min_allocs" ]; then
  fail "memtype served $total allocations in all, fewer than the $min_allocs expected"
  grep "$sum_re" "$base/preload.err" | head -n 5
else
  echo "${prog}[$name]: memtype: $nsum summary line(s), $total allocations in all"
fi
# 4. Every process that printed a summary also left a whole dump (magic and
# the `complete` flag set: docs/format.md). Processes that close stderr
# before exiting (coreutils do) leave a dump and print nothing, so there may
# be more dumps than summaries, never fewer.
if [ "${MT_EXPECT_SUMMARY:-1}" != 0 ]; then
  ndumps=0 nwhole=0
  for d in "$base"/dumps/*.mtd; do
    [ -e "$d" ] || continue
    ndumps=$((ndumps + 1))
    if [ "$(head -c 8 "$d" | od -An -tx1 | tr -d ' \n')" = 6d656d747970651a ] &&
       [ "$(dd if="$d" bs=1 skip=16 count=1 2>/dev/null | od -An -tu1 | tr -d ' \n')" = 1 ]; then
      nwhole=$((nwhole + 1))
    fi
  done
  if [ "$ndumps" -lt "$nsum" ] || [ "$nwhole" -ne "$ndumps" ]; then
    fail "$nsum processes printed a summary but $ndumps dumps were written, $nwhole of them whole"
  else
    echo "${prog}[$name]: memtype: $ndumps whole dump(s)"
  fi
fi
if grep -E '^memtype([^a-z_]|$)' "$base/preload.err.stripped" >"$base/preload.mtlines"; then
  fail "memtype printed $(wc -l <"$base/preload.mtlines") line(s) besides its statistics:"
  head -n 20 "$base/preload.mtlines"
fi

# 4. stderr (memtype summary lines taken out)
if [ "$cmp_stderr" = 1 ] && ! cmp -s "$base/plain.err.stripped" "$base/preload.err.stripped"; then
  fail "stderr differs (memtype statistics taken out)"
  show_diff stderr "$base/plain.err.stripped" "$base/preload.err.stripped"
fi

# 5. the files left behind
if [ "$cmp_tree" = 1 ]; then
  treelist() { # dir -> sorted listing with type, size and checksum
    (cd "$1" && find . -mindepth 1 \( "${excl[@]}" \) -prune -o -print0 | sort -z |
      while IFS= read -r -d '' f; do
        if [ -L "$f" ]; then printf '%s link %s\n' "$f" "$(readlink "$f")"
        elif [ -d "$f" ]; then printf '%s dir\n' "$f"
        elif [ -f "$f" ]; then printf '%s file %s\n' "$f" "$(cksum <"$f")"
        else printf '%s other\n' "$f"; fi
      done)
  }
  excl=(-false)
  for p in "${tree_excl[@]+"${tree_excl[@]}"}"; do excl+=(-o -path "$p"); done
  treelist "$base/plain.tree" >"$base/plain.treelist"
  treelist "$base/preload.tree" >"$base/preload.treelist"
  if ! cmp -s "$base/plain.treelist" "$base/preload.treelist"; then
    fail "the files left in the work dir differ"
    show_diff "work dir listing" "$base/plain.treelist" "$base/preload.treelist"
  fi
fi

if [ ${#fails[@]} -ne 0 ]; then
  echo "${prog}[$name]: FAILED (${#fails[@]} problem(s)); command: $*"
  [ "${MT_REAL_KEEP:-0}" = 1 ] || echo "${prog}[$name]: rerun with MT_REAL_KEEP=1 to keep $base"
  exit 1
fi
echo "${prog}[$name]: PASS ($(wc -c <"$base/plain.out") bytes of stdout identical)"
exit 0

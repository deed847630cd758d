#!/bin/sh
# fuzz_one.sh BIN MODE SECONDS WORKDIR SEED_DIR... - runs one fuzz target for
# SECONDS in one process, and says how it went: mode, executions,
# time. New inputs and crash files land in WORKDIR (keep it out of the source
# tree); the seed directories are only read. MODE is libfuzzer, or driver /
# driver+asan for the stand-in main of driver.c (no libFuzzer at hand).
# A failure prints the end of the report and how to replay the input.
set -u
abs() { (cd "$(dirname "$1")" && printf '%s/%s\n' "$(pwd)" "$(basename "$1")"); }
mode=$2 secs=$3
mkdir -p "$4/corpus"
bin=$(abs "$1") work=$(abs "$4")
shift 4
name=$(basename "$bin")
log=$work/log
seeds=""
for d in "$@"; do
  [ -d "$d" ] && seeds="$seeds $(abs "$d")"
done
# One process, no -jobs/-workers: libFuzzer's -jobs=1 would fork a worker
# that logs to fuzz-0.log in the current directory (two runs there clobber
# each other's). Work in the work directory all the same.
cd "$work" || exit 2
echo "$name: mode $mode, $secs s, seeds:$seeds"
start=$(date +%s)
if [ "$mode" = libfuzzer ]; then
  # -malloc_limit_mb: no single allocation above 128 MB (a hostile count);
  # -timeout: no input may take 10 s; -max_len: dumps of the corpus are < 16 KB.
  # shellcheck disable=SC2086
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -malloc_limit_mb=128 \
    -max_len=16384 -print_final_stats=1 -artifact_prefix="$work/" \
    "$work/corpus" $seeds >"$log" 2>&1
  rc=$?
else
  # The same limits through the sanitizers, when the driver has them.
  ASAN_OPTIONS="${ASAN_OPTIONS:-}:max_allocation_size_mb=128:detect_leaks=1:abort_on_error=1" \
  UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:halt_on_error=1:abort_on_error=1:print_stacktrace=1" \
  timeout $((secs + 60)) "$bin" -max_total_time="$secs" -runs=100000000 -seed=1 \
    -artifact_prefix="$work/" $seeds >"$log" 2>&1
  rc=$?
fi
end=$(date +%s)
# The binary must be of the mode the build was configured for (a stale one
# from the other mode would be run with the wrong arguments).
if [ "$mode" = libfuzzer ] && grep -q '^fuzz driver (no libFuzzer)' "$log"; then
  echo "$name: configured for libFuzzer, but $bin is the stand-in driver (a stale build)"
  exit 1
fi
runs=$(sed -n 's/^Done \([0-9]*\) runs in.*/\1/p; s/^fuzz driver: Done \([0-9]*\) runs in.*/\1/p' "$log" | tail -n 1)
echo "$name: ${runs:-?} executions in $((end - start)) s, exit status $rc"
if [ "$rc" -ne 0 ]; then
  tail -n 60 "$log"
  crash=$(ls -t "$work"/crash-* "$work"/leak-* "$work"/oom-* "$work"/timeout-* 2>/dev/null | head -n 1)
  [ -n "$crash" ] && echo "$name: replay with: $bin $crash  (then keep it in tests/fuzz/regressions/)"
  exit 1
fi
grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" || true
exit 0

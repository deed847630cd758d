#!/bin/sh
# run_fuzz.sh [SECONDS] - the long fuzzing run: each target for SECONDS
# (default 3600), one after the other, one process each, starting from the
# checked-in seeds, the crash regressions and what earlier long runs found
# (kept in BUILD/tests/fuzz/work-long). Prints executions and time per target;
# the figures in docs/reliability.md ("Hostile input: fuzzing") come from it.
#   MEMTYPE_BUILD   the build directory (default: build), configured with the
#                   fuzz targets built (cmake --build BUILD)
# A crash stops the run and names the input: fix the bug, then add the input
# to tests/fuzz/regressions/<target>/ so every CTest run replays it.
set -eu
secs=${1:-3600}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${MEMTYPE_BUILD:-$root/build}
bin=$build/bin
mode=libfuzzer
if ! grep -q LLVMFuzzerRunDriver "$bin/fuzz_options" 2>/dev/null; then
  mode=driver
fi
status=0
for t in options dump; do
  case $t in
    options) name=fuzz_options ;;
    dump) name=fuzz_dump_reader ;;
  esac
  [ -x "$bin/$name" ] || { echo "run_fuzz.sh: no $bin/$name; build first" >&2; exit 2; }
  sh "$here/fuzz_one.sh" "$bin/$name" "$mode" "$secs" "$build/tests/fuzz/work-long/$name" \
    "$here/corpus/$t" "$here/regressions/$t" || status=1
done
exit $status

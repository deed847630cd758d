#!/bin/bash
# callgrind_workload.sh LIB MODE WORKLOAD [WORKDIR] - the instructions (callgrind's
# Ir, the whole process) of one benchmark workload, scaled down to run under
# valgrind, with libmemtype LIB in MODE (plain, checks, d16, guard1000). Instruction
# counts do not depend on the machine's load, as wall times on a shared machine
# do; threads (mtchurn) and address layout still move them by about 0.2%, and
# the timeline's snapshots, taken by wall time, by a few tenths of a percent.
# The workloads are built into WORKDIR (default /tmp/memtype-cg) on first use.
set -u
LIB=$1 MODE=$2 WL=$3 W=${4:-/tmp/memtype-cg}
HERE=$(cd "$(dirname "$0")" && pwd)
if [ ! -e "$W/mt_churn" ]; then
  mkdir -p "$W"
  gcc -O2 -g -pthread -o "$W/mt_churn" "$HERE/workloads/mt_churn.c"
  cp "$HERE/workloads/py_churn.py" "$W/"
  python3 "$HERE/workloads/gen_sql.py" 5000 > "$W/sqlite.sql"
  python3 "$HERE/workloads/gen_c.py" 12 > "$W/big.c"
fi
case $MODE in
  plain) ENVS=();;
  checks) ENVS=(MEMTYPE_TRASH=1 MEMTYPE_REDZONE=1);;
  d16) ENVS=(MEMTYPE_DEPTH=16);;
  guard1000) ENVS=(MEMTYPE_GUARD_RATE=1000);;
  *) echo "unknown mode $MODE" >&2; exit 2;;
esac
IN=/dev/null EXTRA=()
case $WL in
  # A fixed hash seed: with a random one python's own count moves by 0.3 %.
  python) CMD=(/usr/bin/python3 "$W/py_churn.py" 2); EXTRA=(PYTHONMALLOC=malloc PYTHONHASHSEED=0);;
  sqlite) CMD=(/usr/bin/sqlite3 :memory:); IN=$W/sqlite.sql;;
  gcc) CMD=("$(gcc -print-prog-name=cc1)" -quiet -imultiarch x86_64-linux-gnu -O1 -mtune=generic
            -march=x86-64 "$W/big.c" -o /dev/null);;
  mtchurn) CMD=("$W/mt_churn" 2 100000);;
  *) echo "unknown workload $WL" >&2; exit 2;;
esac
out=$(mktemp "$W/cg.XXXXXX")
env -i PATH=/usr/bin:/bin LD_PRELOAD="$LIB" MEMTYPE_OUTPUT=off "${ENVS[@]}" "${EXTRA[@]}" \
  valgrind --tool=callgrind --callgrind-out-file="$out" "${CMD[@]}" < "$IN" > /dev/null 2> "$out.err"
echo "$WL $MODE $LIB Ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$out")"
rm -f "$out" "$out.err"

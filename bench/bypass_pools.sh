#!/bin/bash
# bench/bypass_pools.sh - what memtype run's MEMTYPE_BYPASS_POOLS costs on Python:
# py_churn.py 45 plain (pymalloc), with PYTHONMALLOC=malloc, under memtype run with
# --bypass-pools 0 and with its default; three interleaved rounds, wall seconds.
# (docs/benchmarks.md, "Pools bypassed")
export PATH=/usr/bin:$PATH
HERE=$(cd "$(dirname "$0")" && pwd)
W=${MT_PY_CHURN:-$HERE/workloads/py_churn.py}
MT=${MEMTYPE_CMD:-$HERE/../build/bin/memtype}
t() { # the wall seconds of one run (bash's clock: no bc needed)
  local s=$EPOCHREALTIME
  "$@" > /dev/null 2>&1
  awk -v a="$s" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'
}
for i in 1 2 3; do
  a=$(t /usr/bin/python3 $W 45)
  b=$(t env PYTHONMALLOC=malloc /usr/bin/python3 $W 45)
  c=$(t $MT run --output off --bypass-pools 0 -- /usr/bin/python3 $W 45)
  d=$(t $MT run --output off -- /usr/bin/python3 $W 45)
  echo "$i pymalloc=$a malloc=$b run_pools=$c run_bypass=$d"
done

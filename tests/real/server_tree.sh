#!/usr/bin/env bash
# server_tree.sh MEMTYPE_CMD: a server tree, whole, through `memtype run`:
# postgres's initdb, the server on a unix socket, a psql and pgbench
# workload, pg_ctl stop (tests/real/server_case.sh postgres 0), every process
# of it under memtype. Checks: one whole dump per process (the postmaster,
# its backends and helpers, the clients), the run summary names them all (a
# count, the programs, where the dumps are, the --merge command), and
# `memtype report --table --merge` makes one table of the whole tree. Exit 77
# (skipped) when postgres is not installed.
set -u
export LC_ALL=C
cmd=${1:?usage: server_tree.sh MEMTYPE_CMD}
here=$(cd "$(dirname "$0")" && pwd)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 && command -v pgbench >/dev/null &&
  command -v setpriv >/dev/null || { echo "SKIP: postgresql is not installed"; exit 77; }
base=$(mktemp -d "${TMPDIR:-/tmp}/mt-server-tree.XXXXXX") || exit 2
trap 'rm -rf "$base"' EXIT
mkdir -p "$base/dumps" "$base/tmp"
chmod 1777 "$base/dumps"
chmod o+x "$base"
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
for v in $(compgen -e | grep '^MEMTYPE_'); do unset "$v"; done
# postgres runs as nobody, who may not read the build tree (a clone under
# /root, mode 0700): the loader would drop the preload. A readable copy.
libarg=()
lib=$(dirname "$(dirname "$cmd")")/lib/libmemtype.so
if [ -f "$lib" ]; then
  cp "$lib" "$base/libmemtype.so" && chmod 0755 "$base/libmemtype.so" &&
    libarg=(--lib "$base/libmemtype.so")
fi
TMPDIR=$base/tmp timeout -k 10 "${MT_REAL_TIMEOUT:-300}" "$cmd" run "${libarg[@]}" \
  --output="$base/dumps/memtype.%e.%p.mtd" -- bash "$here/server_case.sh" postgres 0 \
  >"$base/out" 2>"$base/err"
st=$?
[ "$st" = 0 ] || { bad "memtype run exited $st"; tail -n 20 "$base/err"; }
grep -q '800/800\|100/100' "$base/out" || bad "the pgbench run did not complete: $(cat "$base/out")"
n=0 whole=0
declare -A pids=()
for d in "$base"/dumps/*.mtd; do
  [ -e "$d" ] || continue
  n=$((n + 1))
  p=${d%.mtd}; p=${p##*.}
  pids[$p]=1
  if [ "$(head -c 8 "$d" | od -An -tx1 | tr -d ' \n')" = 6d656d747970651a ] &&
     [ "$(dd if="$d" bs=1 skip=16 count=1 2>/dev/null | od -An -tu1 | tr -d ' \n')" = 1 ]; then
    whole=$((whole + 1))
  fi
done
echo "server_tree: $n dumps, ${#pids[@]} distinct pids, $whole whole"
[ "$whole" = "$n" ] || bad "$((n - whole)) dumps are not whole"
[ "${#pids[@]}" = "$n" ] || bad "two dumps for one pid"
# The postmaster, its helpers (checkpointer, background writer, walwriter,
# autovacuum launcher, logical replication launcher), 10 backends (psql's 6,
# pgbench's 1 + 4 + 1), initdb and its postgres --single runs, the clients.
[ "$n" -ge 25 ] || bad "only $n dumps: at least 25 processes ran"
# The dumps' count of postgres processes against the server's own log: every
# pid that logged a line (log_connections: every backend) has a dump.
log=$(ls "$base"/tmp/postgres.log 2>/dev/null)
if [ -n "$log" ]; then
  for p in $(grep -aoE '^[0-9]+ ' "$log" | sort -u); do
    [ -n "${pids[$p]:-}" ] || bad "postgres process $p (in the server's log) wrote no dump"
  done
fi
grep 'memtype: warning:' "$base/err" | sort | uniq -c | sed 's/^/warning: /' | head -n 5
grep -q 'memtype: warning:' "$base/err" && bad "memtype printed warnings"
grep -q 'memtype: ERROR' "$base/err" && bad "memtype reported an ERROR"
# The run summary: the count of every process, the programs, the dumps.
sum=$(grep '^memtype: run summary: ' "$base/err")
echo "$sum"
grep '^memtype: dumps: ' "$base/err"
echo "$sum" | grep -q "^memtype: run summary: $n processes (" || bad "the run summary does not count the $n processes"
echo "$sum" | grep -q "postgres x[0-9]" || bad "the run summary does not name postgres"
grep -q "^memtype: dumps: $n in $base/dumps .*--merge" "$base/err" ||
  bad "the run summary does not say where the $n dumps are, nor how to merge them"
# One table for the whole tree.
"$cmd" report --table --merge "$base"/dumps/*.mtd >"$base/merged" 2>"$base/merged.err" ||
  bad "memtype report --merge failed: $(head -n 3 "$base/merged.err")"
heads=$(grep -c 'InUse' "$base/merged")
[ "$heads" = 1 ] || bad "memtype report --merge printed $heads tables, not one"
head -n 3 "$base/merged"
grep -q "$n processes" "$base/merged" || bad "the merged table does not say it covers the $n processes"
# Only this tree's processes count: other tests (servers of their own) may run beside this one.
for p in "${!pids[@]}"; do
  [ -e "/dev/shm/memtype.$p.live" ] && bad "/dev/shm/memtype.$p.live left by process $p"
done
[ "$fails" = 0 ] && echo "server_tree: PASS" && exit 0
echo "server_tree: $fails problem(s)"
exit 1

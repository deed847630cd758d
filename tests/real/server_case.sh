#!/usr/bin/env bash
# server_case.sh SERVER [SIZE]: start a server (postgres, nginx, redis), put a
# bounded workload through it, stop it by pid; print on stdout only what is
# deterministic (query results, the bodies fetched, the replies), so that
# run_compare.sh can hold a plain run against a memtype run.
#
# Run by real_case.sh through `run_compare.sh --preload-var MT_SERVER_PRELOAD`:
# only the server's own processes get LD_PRELOAD=$MT_SERVER_PRELOAD; this
# shell, curl, psql, pgbench, redis-cli run plain. When MT_SERVER_PRELOAD is
# set it also checks, from the dumps ($MEMTYPE_OUTPUT's directory) and the
# server's log, that every server process it knows of (the postmaster and
# every backend and helper that logged a line or printed a summary; nginx's
# master and workers; redis) wrote a whole dump, and copies the memtype lines
# of the server's stderr (a log file) to its own stderr, where run_compare.sh
# checks them (summaries present, nothing else).
#
# Everything lives in $TMPDIR (a fresh directory per run): the server
# listens on a unix socket there (postgres, redis) or on 127.0.0.1 at a free
# port (nginx). postgres refuses root: as root, it runs as nobody (uid 65534)
# through setpriv. Every step is bounded (timeout); the trap kills what is
# still running, by pid. SIZE (default 1; 0 = smaller) scales the workload.
set -u
export LC_ALL=C
server=${1:?usage: server_case.sh postgres|nginx|redis [SIZE]}
size=${2:-1}
tmp=${TMPDIR:?TMPDIR must be a private temp dir}
pre=${MT_SERVER_PRELOAD:-}
step=${MT_SERVER_STEP_TIMEOUT:-120}
pids=()
fail=0

die() { echo "server_case[$server]: $*" >&2; exit 1; }
fails=()
bad() { echo "server_case[$server]: FAIL: $*" >&2; fail=1; fails+=("$*"); }
# descendants PID: PID's children, theirs, ... (from /proc).
descendants() {
  local c
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    echo "$c"
    descendants "$c"
  done
}
# On any way out: what is still running of the server (the processes
# started and every descendant: nginx's workers outlive a killed master),
# killed by pid.
cleanup() {
  local p all=()
  for p in "${pids[@]+"${pids[@]}"}"; do
    kill -0 "$p" 2>/dev/null || continue
    all+=("$p" $(descendants "$p"))
  done
  [ ${#all[@]} -eq 0 ] || kill -KILL "${all[@]}" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# srv CMD... &: becomes CMD (exec: $! is its pid), with the preload when
# there is one.
srv() {
  if [ -n "$pre" ]; then exec "${pl[@]}" "$@"; else exec "$@"; fi
}
t() { timeout -k 5 "$step" "$@"; }
# "${pl[@]}" CMD: CMD with the preload (nothing when there is none: under
# `memtype run` the server inherits LD_PRELOAD as it is).
# With a preload the server also keeps a live view (MEMTYPE_LIVE=1), which
# live_check reads with `memtype stat` while it runs (the memtype command of
# the same build: bin/ beside lib/), and whose files must all be gone after.
pl=()
mtcmd=
if [ -n "$pre" ]; then
  pl=(env LD_PRELOAD="$pre" MEMTYPE_LIVE=1)
  mtcmd=$(dirname "$(dirname "$pre")")/bin/memtype
  [ -x "$mtcmd" ] || mtcmd=
fi
live_pids=()

# live_check PID...: `memtype stat` shows each running server process's
# call sites (not an empty table); remembered for live_gone.
live_check() {
  local p out n
  [ -n "$mtcmd" ] || return 0
  for p in "$@"; do
    live_pids+=("$p")
    out=$(t "$mtcmd" stat --lines 3 "$p" 2>&1)
    # A short-lived helper (postgres's startup process, an autovacuum
    # worker) may have ended since it was listed.
    kill -0 "$p" 2>/dev/null || continue
    n=$(printf '%s\n' "$out" | sed -n 's/^memtype: \([0-9]*\) call sites in .*/\1/p' | head -n 1)
    if [ -z "$n" ] || [ "$n" -lt 5 ]; then
      bad "memtype stat $p: ${n:-no} call sites: $(printf '%s' "$out" | head -n 1)"
    fi
  done
}

# The live files there before this run: any other one left at the end
# whose process is gone is this run's (initdb's children, say).
shm_before=$(ls /dev/shm 2>/dev/null | grep '^memtype\..*\.live$')

# live_gone: no live file of a server process is left in /dev/shm.
live_gone() {
  local f q
  for f in $(ls /dev/shm 2>/dev/null | grep '^memtype\..*\.live$'); do
    printf '%s\n' "$shm_before" | grep -qx "$f" && continue
    q=${f#memtype.}
    q=${q%.live}
    kill -0 "$q" 2>/dev/null || live_pids+=("$q")
  done
  local p
  for p in $(printf '%s\n' "${live_pids[@]+"${live_pids[@]}"}" | sort -u); do
    if [ -e "/dev/shm/memtype.$p.live" ]; then
      bad "/dev/shm/memtype.$p.live left behind (owner $(stat -c %U "/dev/shm/memtype.$p.live"))"
      rm -f "/dev/shm/memtype.$p.live"
    fi
  done
}
# wait_gone PID: wait (bounded) for PID to end, then reap it; its status.
wait_gone() {
  local i
  for ((i = 0; i < step * 10; i++)); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$1" 2>/dev/null; then
    echo "server_case[$server]: process $1 still running after ${step}s; killed" >&2
    kill -KILL "$1" 2>/dev/null
  fi
  wait "$1"
}

# The user the server runs as: nobody when we are root (postgres refuses
# root), ourselves otherwise.
as_user=()
if [ "$(id -u)" = 0 ]; then
  as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  chmod 0777 "$tmp"
  # run_compare.sh's directory around it is 0700: nobody must pass through.
  chmod o+x "$(dirname "$tmp")"
  # Dumps are written by processes running as nobody too.
  if [ -n "$pre" ] && [ -n "${MEMTYPE_OUTPUT:-}" ]; then chmod 1777 "$(dirname "$MEMTYPE_OUTPUT")"; fi
  # ...and load the library: the build tree may be where nobody cannot read
  # (a clone under /root, mode 0700), and the loader then drops the preload
  # with one line of its own. A readable copy in the temp dir serves them.
  if [ -n "$pre" ]; then
    cp "$pre" "$tmp/libmemtype.so" && chmod 0755 "$tmp/libmemtype.so" && pre=$tmp/libmemtype.so &&
      pl=(env LD_PRELOAD="$pre" MEMTYPE_LIVE=1)
  fi
fi
dumpdir=
if [ -n "$pre" ] && [ -n "${MEMTYPE_OUTPUT:-}" ]; then dumpdir=$(dirname "$MEMTYPE_OUTPUT"); fi

# check_dumps LOG EXPECTED_PIDS...: every pid expected has a whole dump;
# the memtype lines of the log go to stderr.
check_dumps() {
  local log=$1 p d g n=0
  shift
  [ -f "$log" ] && grep -a '^memtype' "$log" >&2
  [ -n "$dumpdir" ] || return 0
  local want=("$@")
  # And every pid that printed a summary.
  while read -r p; do want+=("$p"); done < <(grep -aoE '^memtype: summary: .* \(pid [0-9]+\)' "$log" 2>/dev/null |
                                              grep -oE '[0-9]+\)$' | tr -d ')')
  # A summary's figures are never negative (no count wrapped past 2^63:
  # a fork child freeing its parent's blocks must not make them so).
  local wrapped
  wrapped=$(grep -aE '^memtype: summary: ' "$log" 2>/dev/null | grep -E '[0-9]{19,}' | head -n 3)
  [ -z "$wrapped" ] || bad "a summary with a wrapped (negative) count: $(printf '%s' "$wrapped" | head -n 1)"
  local uniq
  uniq=$(printf '%s\n' "${want[@]+"${want[@]}"}" | sort -un | grep -v '^$')
  # No live file left by any of them, nor by any process that wrote a dump
  # (initdb's children too).
  for d in "$dumpdir"/*.mtd; do
    [ -e "$d" ] || continue
    p=${d%.mtd}
    live_pids+=("${p##*.}")
  done
  live_pids+=($uniq)
  live_gone
  for p in $uniq; do
    n=$((n + 1))
    d=$(ls "$dumpdir"/*."$p".mtd 2>/dev/null | head -n 1)
    if [ -z "$d" ]; then
      bad "process $p wrote no dump"
    elif [ "$(head -c 8 "$d" | od -An -tx1 | tr -d ' \n')" != 6d656d747970651a ] ||
         [ "$(dd if="$d" bs=1 skip=16 count=1 2>/dev/null | od -An -tu1 | tr -d ' \n')" != 1 ]; then
      bad "the dump $d of process $p is not whole"
    elif [ "${MEMTYPE_GUARD:-}" = '*' ] && [ -n "$mtcmd" ]; then
      # Every allocation chosen for guard pages: the process guarded some
      # (the option must survive the server rewriting its environment).
      g=$("$mtcmd" report --json "$d" 2>/dev/null | python3 -c '
import json, sys
p = json.load(sys.stdin)["processes"][0]
print(sum(t["guarded"] for t in p["types"]), sum(t["allocs"] for t in p["types"]))')
      case $g in
        0\ *|'') bad "process $p guarded no allocation under MEMTYPE_GUARD='*' (guarded, allocations: ${g:-unreadable})" ;;
      esac
    fi
  done
  local nd
  nd=$(ls "$dumpdir"/*.mtd 2>/dev/null | wc -l)
  echo "server_case[$server]: $n server processes expected to dump, $nd dumps in all" >&2
}

# A free TCP port on 127.0.0.1 (bound then released by python3).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case $server in
postgres)
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$bin" ] && [ -x "$bin/postgres" ] || die "postgres is not installed"
  data=$tmp/pgdata log=$tmp/postgres.log
  rows=$((size > 0 ? 20000 : 2000)) tx=$((size > 0 ? 200 : 25))
  # initdb (it runs postgres --single for the bootstrap) under memtype too.
  t "${as_user[@]}" "${pl[@]}" "$bin/initdb" -D "$data" -A trust -U postgres \
      --no-sync -E UTF8 --locale=C >"$tmp/initdb.log" 2>&1 || { cat "$tmp/initdb.log" >&2; die "initdb failed"; }
  grep -a '^memtype' "$tmp/initdb.log" >&2
  # The postmaster in the background, its pid known; logs to a file with
  # each line's pid, so every process that said anything is counted.
  "${as_user[@]}" "${pl[@]}" "$bin/postgres" -D "$data" -k "$tmp" \
    -c listen_addresses= -c fsync=off -c log_connections=on -c log_disconnections=on \
    -c "log_line_prefix=%p " -c max_connections=20 >"$log" 2>&1 &
  pm=$!
  pids+=("$pm")
  for _ in $(seq 1 600); do
    "$bin/pg_isready" -q -h "$tmp" -U postgres 2>/dev/null && break
    kill -0 "$pm" 2>/dev/null || { cat "$log" >&2; die "postgres did not start"; }
    sleep 0.1
  done
  "$bin/pg_isready" -q -h "$tmp" -U postgres || { cat "$log" >&2; die "postgres not ready"; }
  q() { t "$bin/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$tmp" -U postgres -d postgres "$@"; }
  q -c "create table t (a int primary key, b text)" &&
  q -c "insert into t select i, md5(i::text) from generate_series(1, $rows) i" &&
  q -c "select count(*), sum(a), md5(string_agg(b, ',' order by a)) from t" &&
  q -c "select b from t where a in (1, 7, $rows) order by a" &&
  q -c "create index on t (b); select count(*) from t where b like 'a%'" || bad "psql failed"
  # The postmaster and its helpers, live.
  live_check "$pm" $(cat /proc/"$pm"/task/*/children 2>/dev/null)
  t "$bin/pgbench" -h "$tmp" -U postgres -i -s 1 -q postgres >>"$tmp/pgbench.log" 2>&1 || bad "pgbench -i failed"
  t "$bin/pgbench" -h "$tmp" -U postgres -n -t "$tx" -c 4 postgres >>"$tmp/pgbench.log" 2>&1 || bad "pgbench failed"
  grep -a 'number of transactions actually processed' "$tmp/pgbench.log"
  q -c "select count(*), (select sum(abalance) from pgbench_accounts) = sum(delta) from pgbench_history" ||
    bad "psql failed"
  t "${as_user[@]}" "$bin/pg_ctl" -D "$data" -m fast -w -t "$step" stop >"$tmp/pg_ctl.log" 2>&1 ||
    { cat "$tmp/pg_ctl.log" >&2; bad "pg_ctl stop failed"; }
  wait_gone "$pm" || bad "the postmaster exited $?"
  pids=()
  # Every pid in the log: the postmaster, the helpers that logged (or
  # printed a summary), the backends (log_connections).
  check_dumps "$log" "$pm" $(grep -aoE '^[0-9]+ ' "$log" | sort -u)
  ;;
nginx)
  ngx=$(command -v nginx || echo /usr/sbin/nginx)
  [ -x "$ngx" ] || die "nginx is not installed"
  port=$(free_port) || die "no free port"
  mkdir -p "$tmp/nginx/www" "$tmp/nginx/tmp"
  python3 - "$tmp/nginx/www" <<'EOF'
import os, sys
d = sys.argv[1]
open(os.path.join(d, "index.html"), "w").write("<html><body>memtype</body></html>\n")
open(os.path.join(d, "small.txt"), "w").write("".join("line %d\n" % i for i in range(100)))
open(os.path.join(d, "big.bin"), "wb").write(bytes((i * 7 + i // 251) & 255 for i in range(300000)))
EOF
  chmod -R a+rX "$tmp/nginx"
  cat >"$tmp/nginx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 2;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/tmp/body;
  proxy_temp_path $tmp/nginx/tmp/proxy;
  fastcgi_temp_path $tmp/nginx/tmp/fastcgi;
  uwsgi_temp_path $tmp/nginx/tmp/uwsgi;
  scgi_temp_path $tmp/nginx/tmp/scgi;
  server {
    listen 127.0.0.1:$port;
    root $tmp/nginx/www;
  }
}
EOF
  log=$tmp/nginx/stderr.log
  # As root the master stays root and the workers run as nobody (nginx's
  # default `user`): the workers change user.
  srv "$ngx" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/error.log" >"$log" 2>&1 &
  master=$!
  pids+=("$master")
  for _ in $(seq 1 300); do
    curl -s -o /dev/null "http://127.0.0.1:$port/index.html" && break
    kill -0 "$master" 2>/dev/null || { cat "$log" "$tmp/nginx/error.log" >&2; die "nginx did not start"; }
    sleep 0.1
  done
  workers=$(cat /proc/"$master"/task/*/children 2>/dev/null)
  # The master (root) and its workers (nobody), live.
  live_check "$master" $workers
  n=$((size > 0 ? 50 : 10))
  for i in $(seq 1 "$n"); do
    for f in index.html small.txt big.bin; do
      t curl -s -f "http://127.0.0.1:$port/$f" | cksum || bad "curl $f failed"
    done
  done | sort | uniq -c
  t curl -s -f "http://127.0.0.1:$port/index.html" || bad "curl failed"
  t curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$port/missing"
  kill -QUIT "$master"
  wait_gone "$master" || bad "nginx exited $?"
  pids=()
  [ -n "$workers" ] || bad "no nginx worker seen"
  # nginx puts its error log on its stderr (fd 2) once started: memtype's
  # lines from then on are there.
  cat "$tmp/nginx/error.log" >>"$log"
  check_dumps "$log" "$master" $workers
  ;;
redis)
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null || die "redis is not installed"
  sock=$tmp/redis.sock log=$tmp/redis.stderr
  # As root: as nobody (redis needs no root; its working dir is $tmp).
  (cd "$tmp" && exec "${as_user[@]}" "${pl[@]}" redis-server --port 0 --unixsocket "$sock" \
    --save '' --appendonly no --daemonize no --logfile "$tmp/redis.log" --dir "$tmp") >"$log" 2>&1 &
  rp=$!
  pids+=("$rp")
  for _ in $(seq 1 300); do
    [ "$(redis-cli -s "$sock" ping 2>/dev/null)" = PONG ] && break
    kill -0 "$rp" 2>/dev/null || { cat "$log" "$tmp/redis.log" >&2; die "redis did not start"; }
    sleep 0.1
  done
  n=$((size > 0 ? 2000 : 200))
  python3 - "$n" >"$tmp/cmds.txt" <<'EOF'
import sys
n = int(sys.argv[1])
for i in range(n):
    print("SET key:%d %s" % (i, "v%d" % (i * 31 % 977) * (1 + i % 13)))
    print("LPUSH list:%d %d %d" % (i % 17, i, i * i))
    print("HSET hash:%d f%d %d" % (i % 11, i, i))
    print("INCRBY counter %d" % i)
for i in range(0, n, 7):
    print("GET key:%d" % i)
    print("DEL key:%d" % (i + 1))
for j in range(17):
    print("LRANGE list:%d 0 5" % j)
    print("LLEN list:%d" % j)
for j in range(11):
    print("HLEN hash:%d" % j)
print("GET counter")
print("DBSIZE")
EOF
  t redis-cli -s "$sock" <"$tmp/cmds.txt" | md5sum || bad "redis-cli failed"
  t redis-cli -s "$sock" <"$tmp/cmds.txt" | tail -n 40
  live_check "$rp"
  t redis-benchmark -s "$sock" -n "$n" -q -t set,get,lpush,lpop,incr >"$tmp/bench.log" 2>&1 || bad "redis-benchmark failed"
  t redis-cli -s "$sock" shutdown nosave >/dev/null 2>&1
  wait_gone "$rp" || bad "redis-server exited $?"
  pids=()
  check_dumps "$log" "$rp"
  ;;
*) die "unknown server '$server'" ;;
esac
# The problems again, last (run_compare.sh shows the tail of stderr).
if [ "$fail" != 0 ]; then
  echo "server_case[$server]: ${#fails[@]} problem(s):" >&2
  printf '  %s\n' "${fails[@]}" | sort | uniq -c | sort -rn | head -n 12 >&2
fi
exit "$fail"

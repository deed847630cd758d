#!/usr/bin/env python3
"""Stress runs of memtype, each bounded in time by a watchdog: thread
create/exit churn with cross-thread frees (64 threads), fork storms from a
multithreaded process (children and grandchildren allocate, free and exit),
an exec chain, signal storms whose handlers call malloc while threads are
inside it, dlopen/dlclose churn, and the dump signal sent over and over during
heavy allocation. Each runs as it is and with every check on (trash,
redzones, guard-page sampling, leak scan).

A run passes when: the program exits 0 within the watchdog's time, stderr has
no `memtype: ERROR` and no `memtype: LEAK` line (and no warning but the
expected ones), the summary line and the exit dump agree that allocations -
frees = blocks live at exit, overall and per type (the leak scan's records
count the live blocks of each type), the 64 blocks the program keeps are
there, and every dump written on the way (the dump signal's, the fork
children's) is read whole by the Python reader, `memtype report` and the C
reader.

    run_stress.py            full length (about 15 minutes on 2 cores)
    run_stress.py --short    the CTest variant (about 2 minutes)
    run_stress.py --only signals,fork --seconds 20

Environment (CTest sets it; defaults for a build in build/): MEMTYPE_CMD,
MEMTYPE_LIB_PATH, MEMTYPE_STRESS, MEMTYPE_STRESS_LIB, MEMTYPE_STAT_TOOL."""
import argparse
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "py"))
from mtenv import CMD, LIB, clean_env  # noqa: E402  (also puts report/ on sys.path)
from memtype_report import dump  # noqa: E402

STRESS = os.environ.get("MEMTYPE_STRESS", "build/bin/stress")
STRESS_LIB = os.environ.get("MEMTYPE_STRESS_LIB", "build/tests/stress/libstress_lib.so")
STAT_TOOL = os.environ.get("MEMTYPE_STAT_TOOL", "build/bin/memtype-stat")
KEEP, KEEP_SIZE = 64, 777
CHECKS = {"MEMTYPE_TRASH": "1", "MEMTYPE_REDZONE": "1", "MEMTYPE_GUARD_RATE": "1000",
          "MEMTYPE_LEAKS": "1"}
# Warnings a run may give: a dump signal arriving while the previous dump is
# still being written is refused (documented), not an error.
EXPECTED_WARNINGS = ("a dump is being written already",
                     "memtype's thread registry is busy in this thread")
SUMMARY = re.compile(r"^memtype: summary: \S+ \(pid (\d+)\): (\d+) allocations, (\d+) frees, "
                     r"\d+ bytes requested, (\d+) blocks? live at exit", re.M)


def modes(seconds, short):
    exec_steps = 30 if short else 300
    return [
        ("threads", [str(seconds), "64"], {}),
        ("fork", [str(seconds)], {"MEMTYPE_LEAK_LINES": "0"}),
        ("exec", [str(exec_steps)], {}),
        ("signals", [str(seconds), "8"], {}),
        ("dlopen", [str(seconds), STRESS_LIB], {}),
        ("dumpsig", [str(seconds), "8"], {"MEMTYPE_DUMP_SIGNAL": "USR2"}),
    ]


class Failed(Exception):
    pass


def check_consistent(d, what):
    """allocations - frees = live blocks, per type and overall; returns the
    live block count."""
    if d.leaks is None:
        raise Failed("%s: the exit dump has no leak scan" % what)
    live_by_type = {}
    for r in d.leaks.records:
        live_by_type[r.type] = live_by_type.get(r.type, 0) + r.blocks
    total_counted = 0
    for t in d.types:
        if t.frees > t.allocs:
            raise Failed("%s: type %d has %d frees for %d allocations" % (what, t.id, t.frees, t.allocs))
        counted = t.allocs - t.frees
        total_counted += counted
        scanned = live_by_type.pop(t.id & 0xFFFF, 0)
        if counted != scanned:
            raise Failed("%s: type %d: %d allocations - %d frees = %d, but the leak scan found %d "
                         "live blocks" % (what, t.id, t.allocs, t.frees, counted, scanned))
    if live_by_type:
        raise Failed("%s: live blocks of types the dump does not count: %s" % (what, live_by_type))
    total_scanned = sum(n for _, n in d.leaks.totals.values())
    if total_counted != total_scanned:
        raise Failed("%s: allocations - frees = %d overall, the leak scan found %d"
                     % (what, total_counted, total_scanned))
    return total_counted


def read_everywhere(paths, what):
    """Every dump read whole by the Python reader, memtype report and the C reader."""
    for p in paths:
        dump.load(p)  # raises DumpError
        r = subprocess.run([STAT_TOOL, p], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise Failed("%s: memtype-stat %s: %s" % (what, p, r.stderr.strip()))
    batches = [["--no-symbolize"] + paths[i:i + 200] for i in range(0, len(paths), 200)]
    for args in batches + [paths[-1:]]:  # the last one (the exit dump) symbolized too
        r = subprocess.run([CMD, "report", "--types", "--leaks", "--merge"] + args,
                           capture_output=True, text=True, timeout=600, env=clean_env())
        if r.returncode != 0:
            raise Failed("%s: memtype report: %s" % (what, r.stderr.strip()[-2000:]))


def run_one(mode, args, extra_env, variant, seconds, tmp):
    out = os.path.join(tmp, "%s-%s" % (mode, variant))
    os.makedirs(out)
    env = clean_env()
    # Every process dumps (forked children too: the fork mode counts them).
    env.update({"LD_PRELOAD": LIB, "MEMTYPE_OUTPUT": os.path.join(out, "d.%e.%p.mtd"),
                "MEMTYPE_STATS": "1", "MEMTYPE_STATS_LINES": "1", "MEMTYPE_LEAKS": "1",
                "MEMTYPE_DUMP_CHILDREN": "1"})
    if variant == "checks":
        env.update(CHECKS)
    env.update(extra_env)
    watchdog = 3 * seconds + 90 if mode != "exec" else 300
    t0 = time.monotonic()
    p = subprocess.Popen([STRESS, mode] + args, env=env, cwd=out, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = p.communicate(timeout=watchdog)
    except subprocess.TimeoutExpired:
        stacks = ""
        if shutil.which("gdb"):  # where it hangs, for the failure message
            g = subprocess.run(["gdb", "-p", str(p.pid), "-batch", "-ex", "thread apply all bt 24"],
                               capture_output=True, text=True, timeout=120)
            stacks = "\n".join(ln for ln in g.stdout.splitlines() if ln.startswith(("#", "Thread")))
        os.killpg(p.pid, signal.SIGKILL)
        stderr = stacks + "\n"
        stdout, err = p.communicate()
        raise Failed("%s/%s: hung: killed by the watchdog after %d s\n%s\n%s" % (
            mode, variant, watchdog, err[-3000:], stderr[-12000:]))
    took = time.monotonic() - t0
    what = "%s/%s" % (mode, variant)
    if p.returncode != 0:
        raise Failed("%s: exit status %d\n%s\n%s" % (what, p.returncode, stdout[-2000:], stderr[-4000:]))
    for pat in ("memtype: ERROR", "memtype: LEAK:", "stress: FAIL"):
        if pat in stderr:
            raise Failed("%s: %r on stderr:\n%s" % (what, pat, stderr[-4000:]))
    warnings = [ln for ln in stderr.splitlines() if ln.startswith("memtype: warning:")]
    odd = [w for w in warnings if not any(e in w for e in EXPECTED_WARNINGS)]
    if odd:
        raise Failed("%s: unexpected warnings:\n%s" % (what, "\n".join(odd[:10])))
    m = re.search(r"^stress: mode=\S+ ops=(\d+) threads=(\d+) forks=(\d+) signals=(\d+) sent=(\d+)",
                  stdout, re.M)
    if not m:
        raise Failed("%s: no figures on stdout:\n%s" % (what, stdout[-2000:]))
    ops, threads, forks, signals_seen, sent = map(int, m.groups())
    cycles = re.search(r"cycles=(\d+)", stdout)
    other = ("%s dlopen/dlclose cycles" % cycles.group(1) if cycles else
             "%s exec steps" % args[0] if mode == "exec" else "")
    # The program's own exit dump and summary line.
    main_dump = os.path.join(out, "d.stress.%d.mtd" % p.pid)
    d = dump.load(main_dump)
    if d.reason != "exit" or d.errors_total:
        raise Failed("%s: exit dump: reason %s, %d errors" % (what, d.reason, d.errors_total))
    lost = sum(d.leaks.totals.get(k, (0, 0))[1] for k in ("definitely lost", "indirectly lost"))
    if lost:
        raise Failed("%s: the exit dump counts %d lost blocks" % (what, lost))
    live = check_consistent(d, what)
    if not any(t.allocs - t.frees == KEEP and t.bytes_alloc - t.bytes_freed == KEEP * KEEP_SIZE
               for t in d.types):
        raise Failed("%s: no type holds the %d kept blocks of %d bytes" % (what, KEEP, KEEP_SIZE))
    summaries = {int(s[0]): s for s in SUMMARY.findall(stderr)}
    s = summaries.get(p.pid)
    if s is None:
        raise Failed("%s: no summary line for pid %d" % (what, p.pid))
    if int(s[1]) - int(s[2]) != int(s[3]) or int(s[3]) != live:
        raise Failed("%s: summary says %s allocations - %s frees, %s live; the dump %d live"
                     % (what, s[1], s[2], s[3], live))
    for pid, s in summaries.items():
        if int(s[1]) < int(s[2]) and pid == p.pid:
            raise Failed("%s: pid %d: more frees than allocations" % (what, pid))
    # Every other dump: fork children's exit dumps, the dump signal's.
    others = sorted(set(glob.glob(os.path.join(out, "*.mtd*"))) - {main_dump})
    children = [f for f in others if f.endswith(".mtd")]
    for f in children:
        c = dump.load(f)
        if c.errors_total:
            raise Failed("%s: %s: %d heap errors" % (what, f, c.errors_total))
        # A child keeps the blocks its parent's other threads were holding in
        # registers when it forked: lost in the child, one per thread at most
        # (4 churning threads and the one adding call sites).
        definite = c.leaks.totals.get("definitely lost", (0, 0))[1] if c.leaks else 0
        indirect = c.leaks.totals.get("indirectly lost", (0, 0))[1] if c.leaks else 0
        if definite > 5 or indirect:
            raise Failed("%s: %s: %d blocks definitely lost, %d indirectly" % (what, f, definite, indirect))
    if mode == "fork" and len(children) < forks // 2:
        raise Failed("%s: %d forks but %d child dumps" % (what, forks, len(children)))
    signal_dumps = [f for f in others if re.search(r"\.mtd\.\d+$", f)]
    if mode == "dumpsig":
        for f in signal_dumps:
            if dump.load(f).reason != "dump signal":
                raise Failed("%s: %s is not a dump signal's" % (what, f))
        refused = sum("a dump is being written already" in w for w in warnings)
        if len(signal_dumps) + refused < sent or not signal_dumps:
            raise Failed("%s: %d dump signals sent, %d dumps and %d refusals"
                         % (what, sent, len(signal_dumps), refused))
    read_everywhere(signal_dumps + children + [main_dump], what)
    row = {"mode": mode, "variant": variant, "ops": ops, "threads": threads, "forks": forks,
           "signals": signals_seen if mode == "signals" else sent, "sent": sent,
           "dumps": 1 + len(others), "seconds": took, "live": live, "other": other}
    shutil.rmtree(out)
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--short", action="store_true", help="the CTest variant")
    ap.add_argument("--seconds", type=float, help="length of each timed run")
    ap.add_argument("--only", help="comma-separated modes")
    ap.add_argument("--variants", default="plain,checks")
    a = ap.parse_args()
    seconds = a.seconds or (6 if a.short else 60)
    tmp = tempfile.mkdtemp(prefix="memtype-stress.")
    rows, failures = [], []
    t0 = time.monotonic()
    for mode, args, extra in modes(seconds, a.short):
        if a.only and mode not in a.only.split(","):
            continue
        for variant in a.variants.split(","):
            try:
                row = run_one(mode, args, extra, variant, seconds, tmp)
                rows.append(row)
                print("ok   %-8s %-6s ops=%d threads=%d forks=%d signals=%d dumps=%d live=%d %.1fs"
                      % (mode, variant, row["ops"], row["threads"], row["forks"], row["signals"],
                         row["dumps"], row["live"], row["seconds"]), flush=True)
            except (Failed, dump.DumpError) as e:
                failures.append(str(e))
                print("FAIL %-8s %-6s %s" % (mode, variant, e), flush=True)
    print()
    print("| run | checks | operations | threads | forks | signals | dumps | seconds | also |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        sig = "%d of %d" % (r["signals"], r["sent"]) if r["mode"] == "signals" else str(r["signals"])
        print("| %s | %s | %d | %d | %d | %s | %d | %.0f | %s |" % (
            r["mode"], "all on" if r["variant"] == "checks" else "off", r["ops"], r["threads"],
            r["forks"], sig, r["dumps"], r["seconds"], r["other"]))
    print("\n%d runs, %d failed, %.0f s" % (len(rows) + len(failures), len(failures),
                                          time.monotonic() - t0))
    if not failures:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print("files kept in", tmp)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

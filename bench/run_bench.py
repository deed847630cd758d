#!/usr/bin/env python3
"""run_bench.py - memtype benchmark harness (Python 3 standard library only).

Builds the reference workloads (bench/workloads/) into a work directory, runs
each workload under each selected tool with the runs interleaved (run i: glibc,
tool1, tool2, ... then run i+1), measures whole-process wall time and peak RSS
with os.wait4(), checks every run's stdout against glibc's, and writes a
markdown report (default docs/benchmarks.md) which is also printed.

With --all it first installs the peers (`sh scripts/deps.sh bench`, as root), runs
every tool, then the scale curves of bench/scale.py, and writes docs/benchmarks.md
with the charts (bench/svg.py); raw results are kept in bench/results/*.json.

Run from anywhere; typical use from the repository root:
    python3 bench/run_bench.py --all          # the whole report, ~40-60 minutes
    python3 bench/run_bench.py --runs 5
    python3 bench/run_bench.py --tools glibc,memtype,jemalloc --workloads sqlite
    python3 bench/run_bench.py --list
"""

import argparse
import dataclasses
import datetime
import hashlib
import json
import math
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
WORKLOAD_SRC = os.path.join(HERE, "workloads")
L = "/usr/lib/x86_64-linux-gnu"
ALL_COMMAND = "python3 bench/run_bench.py --all"
sys.path.insert(0, HERE)
import svg  # noqa: E402  (bench/svg.py)
sys.path.insert(0, os.path.join(REPO, "report"))
from memtype_report.commands.run import FIND_BUGS  # noqa: E402  (memtype run's defaults)


@dataclass
class Tool:
    env: dict = field(default_factory=dict)   # added to the workload's environment
    prefix: list = field(default_factory=list)  # command put in front of the program
    runs: int = 0        # cap on runs for slow tools (0 = --runs)
    desc: str = ""       # label in the report
    drop: str = ""       # regex: stdout lines the tool itself prints (not compared)
    timeout: float = 0.0  # lower per-run timeout for tools that die slowly (0 = --timeout)


# ---------------------------------------------------------------------------
# THE TOOL TABLE: one line per tool.  Placeholders: {lib} = --lib (libmemtype.so),
# {data} = a scratch directory for the tool's own output files (deleted after each
# run unless --keep-tool-data).  A tool whose LD_PRELOAD file or prefix program is
# missing is reported as "not installed".
# ---------------------------------------------------------------------------
MT_DUMP = "{data}/memtype.%e.%p.mtd"
TOOLS = {
    "glibc":     Tool(desc="glibc malloc (baseline)"),
    # memtype writes its dump at exit (part of what it costs) into the scratch dir.
    "memtype":   Tool(env={"LD_PRELOAD": "{lib}", "MEMTYPE_OUTPUT": MT_DUMP}, desc="memtype"),
    "memtype-notype": Tool(env={"LD_PRELOAD": "{lib}", "MEMTYPE_OUTPUT": MT_DUMP, "MEMTYPE_DEPTH": "0"}, desc="memtype MEMTYPE_DEPTH=0 (no call-site types)"),
    "memtype-d16": Tool(env={"LD_PRELOAD": "{lib}", "MEMTYPE_OUTPUT": MT_DUMP, "MEMTYPE_DEPTH": "16"}, desc="memtype MEMTYPE_DEPTH=16 (a 16-frame stack captured and typed on every allocation)"),
    "memtype-d8": Tool(env={"LD_PRELOAD": "{lib}", "MEMTYPE_OUTPUT": MT_DUMP, "MEMTYPE_DEPTH": "8"}, runs=3, desc="memtype MEMTYPE_DEPTH=8 (stack types)"),
    # Failure injection on, nothing eligible: every call takes the debug path and is
    # checked against the filter; the cost of MEMTYPE_FAILURE_RATE on a program's other types.
    "memtype-failon": Tool(env={"LD_PRELOAD": "{lib}", "MEMTYPE_OUTPUT": MT_DUMP, "MEMTYPE_FAILURE_RATE": "1", "MEMTYPE_FAILURE_TYPES": "no_such_function"}, runs=3, desc="memtype MEMTYPE_FAILURE_RATE=1 on a type never called (the injection check on every allocation)"),
    # Every heap check on: trash/verify, redzones, the default quarantine (and the
    # always-on free checks), as a user chasing a corruption runs it.
    "memtype-checks": Tool(env={"LD_PRELOAD": "{lib}", "MEMTYPE_OUTPUT": MT_DUMP, "MEMTYPE_TRASH": "1", "MEMTYPE_REDZONE": "1"}, desc="memtype MEMTYPE_TRASH=1 MEMTYPE_REDZONE=1 (all heap checks)"),
    # The same without block stacks (MEMTYPE_STACK_DEPTH=0): what capturing them costs.
    "memtype-checks-s0": Tool(env={"LD_PRELOAD": "{lib}", "MEMTYPE_OUTPUT": MT_DUMP, "MEMTYPE_TRASH": "1", "MEMTYPE_REDZONE": "1", "MEMTYPE_STACK_DEPTH": "0"}, desc="memtype MEMTYPE_TRASH=1 MEMTYPE_REDZONE=1 MEMTYPE_STACK_DEPTH=0 (all heap checks, no block stacks)"),
    # memguard sampling (GWP-ASan style): 1 allocation in 1000 on guard pages.
    "memtype-guard": Tool(env={"LD_PRELOAD": "{lib}", "MEMTYPE_OUTPUT": MT_DUMP, "MEMTYPE_GUARD_RATE": "1000"}, runs=3, desc="memtype MEMTYPE_GUARD_RATE=1000 (guard pages for 1 allocation in 1000)"),
    # Guard pages for every allocation, within the budget (mappings and bytes): beside
    # Electric Fence and DUMA, which guard everything without one.
    "memtype-guardall": Tool(env={"LD_PRELOAD": "{lib}", "MEMTYPE_OUTPUT": MT_DUMP, "MEMTYPE_GUARD": "*"}, runs=3, timeout=300, desc="memtype MEMTYPE_GUARD='*' (guard pages for every allocation, within the budget)"),
    # `memtype run`'s defaults (the mode that finds bugs: checks, guard pages for every
    # allocation within the budget, leak scan, block stacks, go on after an error),
    # taken from the command itself; the library's cost, without the command's summary.
    "memtype-run": Tool(env={"LD_PRELOAD": "{lib}", "MEMTYPE_OUTPUT": MT_DUMP, **FIND_BUGS}, runs=3, desc="memtype run's defaults (%s)" % " ".join("%s=%s" % kv for kv in FIND_BUGS.items())),
    # memtype modes: one line each, the same library plus MEMTYPE_* variables, e.g.
    # "memtype-foo": Tool(env={"LD_PRELOAD": "{lib}", "MEMTYPE_FOO": "1"}, desc="memtype MEMTYPE_FOO=1"),
    # Peers (for a later issue; they already work when their packages are installed,
    # invoked as in /work/shared/bench/with.sh):
    "jemalloc":  Tool(env={"LD_PRELOAD": f"{L}/libjemalloc.so.2"}, desc="jemalloc"),
    "mimalloc":  Tool(env={"LD_PRELOAD": f"{L}/libmimalloc.so.2"}, desc="mimalloc"),
    "tcmalloc":  Tool(env={"LD_PRELOAD": f"{L}/libtcmalloc.so.4"}, desc="tcmalloc"),
    "jeprof":    Tool(env={"MALLOC_CONF": "junk:true,prof:true,prof_leak:true,prof_prefix:{data}/jeprof", "LD_PRELOAD": f"{L}/libjemalloc.so.2"}, desc="jemalloc `junk:true,prof:true`"),
    "asan":      Tool(env={"ASAN_OPTIONS": "detect_leaks=1", "LD_PRELOAD": f"{L}/libasan.so.8"}, runs=3, desc="libasan preloaded"),
    "heaptrack": Tool(prefix=["heaptrack", "-o", "{data}/heaptrack"], runs=3, desc="heaptrack", drop=r"^(heaptrack output will be written to .*|/usr/lib/heaptrack/.*|starting application, this might take some time\.\.\.|Heaptrack finished! .*|\s*heaptrack --analyze .*|\s*)$"),
    "dmalloc":   Tool(env={"DMALLOC_OPTIONS": "check-fence,check-blank,free-blank,error-abort,log-stats,log-non-free,log={data}/dmalloc-%p.log", "LD_PRELOAD": f"{L}/libdmallocth.so.5"}, runs=3, desc="dmalloc (fence, blank checks)"),
    "valgrind":  Tool(prefix=["valgrind", "--leak-check=full"], runs=3, desc="valgrind memcheck"),
    # Electric Fence and DUMA die at vm.max_map_count or take >100x: one run, 120 s at most.
    "efence":    Tool(env={"LD_PRELOAD": "/usr/lib/libefence.so"}, runs=1, timeout=120, desc="Electric Fence"),
    "duma":      Tool(env={"LD_PRELOAD": "/usr/lib/libduma.so"}, runs=1, timeout=120, desc="DUMA"),
    "glibcchk":  Tool(env={"MALLOC_CHECK_": "3", "MALLOC_PERTURB_": "165", "LD_PRELOAD": f"{L}/libc_malloc_debug.so.0"}, desc="glibc malloc_debug MALLOC_CHECK_=3"),
}
DEFAULT_TOOLS = "glibc,memtype"
# --before-lib: the library the memtype tools are compared with, as "<tool>@before" tools
# run in the same interleaved rounds ({lib_before} in their environment; set in main()).
BEFORE_LIB = [""]

# Workloads: name -> program argv ({dir} = work dir), extra env, stdin file.
# "gcc" runs cc1 (the compiler proper) directly so that wait4 measures the
# allocating process itself; its check line is made from the assembler output.
WORKLOADS = {
    "python":  dict(argv=["/usr/bin/python3", "{dir}/py_churn.py", "45"], env={"PYTHONMALLOC": "malloc"},
                    what="`PYTHONMALLOC=malloc python3 py_churn.py 45`: dicts, lists, str, json"),
    "sqlite":  dict(argv=["/usr/bin/sqlite3", ":memory:"], stdin="{dir}/sqlite.sql",
                    what="`sqlite3 :memory:` on 100k inserts, an index, GROUP BY, DELETE"),
    "gcc":     dict(argv=["{cc1}", "-quiet", "-imultiarch", "x86_64-linux-gnu", "-O1", "-mtune=generic",
                          "-march=x86-64", "{dir}/big.c", "-o", "{asm}"],
                    what="cc1 `-O1` on a generated 160-function C file"),
    "mtchurn": dict(argv=["{dir}/mt_churn", "2", "10000000"],
                    what="2 threads, 10M malloc/free each, 1 in 8 blocks freed by the other thread"),
    # Our own allocation programs (bench/programs/, issue 24): the group `programs`.
    "larson":  dict(argv=["{dir}/larson", "2", "6000000"], group="programs",
                    what="`larson 2 6000000`: 2 threads replace random 16-512 B blocks in arrays "
                         "of 1000 that change thread every 1/32 of the run (cross-thread frees)"),
    "smallobj": dict(argv=["{dir}/smallobj", "2000000"], group="programs",
                     what="`smallobj 2000000`: lists of 1-32 nodes (16-96 B) and a string built "
                          "and freed each round, a window of 4096 longer-lived objects"),
    "bigloop": dict(argv=["{dir}/bigloop", "40"], group="programs",
                    what="`bigloop 40`: blocks of 2-64 MiB, one word written per page, two live, "
                         "every fourth grown with realloc"),
    # Large blocks (issue 24 point 3): bigloop above and a realloc growth loop; the group
    # `large` (bench/results/large.json, written into docs/benchmarks.md by hand).
    "bigrealloc": dict(argv=["{dir}/bigrealloc", "6"], group="large",
                       what="`bigrealloc 6`: two buffers grown in turn by realloc from 2 to 64 MiB "
                            "(a quarter each step, a word written in each new page), shrunk back "
                            "by halves, freed; 6 rounds"),
    "prodcons": dict(argv=["{dir}/prodcons", "2", "1500000"], group="programs",
                     what="`prodcons 2 1500000`: 2 producer threads send 48-1024 B messages "
                          "through bounded queues to 2 consumers, which free them"),
}
DEFAULT_WORKLOADS = "python,sqlite,gcc,mtchurn"
# --workloads NAME of a group: its workloads, measured apart (bench/results/NAME.json) and
# rendered as their own section at the end of docs/benchmarks.md (bench/programs.py).
GROUPS = {"programs": [w for w, d in WORKLOADS.items() if d.get("group") == "programs"],
          "large": ["bigloop", "bigrealloc"]}
PROGRAMS_SRC = os.path.join(HERE, "programs")

# Inherited variables that would change what is measured; removed from the base env.
STRIP_ENV = re.compile(r"^(LD_PRELOAD|LD_AUDIT|MALLOC_.*|MEMTYPE_.*|GLIBC_TUNABLES|PYTHONMALLOC|"
                       r"ASAN_OPTIONS|LSAN_OPTIONS|DMALLOC_OPTIONS|EF_.*|DUMA_.*|HEAPTRACK_.*)$")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def die(msg):
    log("run_bench: error: " + msg)
    sys.exit(2)


# ---------------------------------------------------------------------------
# build
# ---------------------------------------------------------------------------
def run_checked(argv, stdout=None):
    try:
        subprocess.run(argv, check=True, stdout=stdout)
    except FileNotFoundError:
        die("build: program not found: %s" % argv[0])
    except subprocess.CalledProcessError as e:
        die("build: command failed (exit %s): %s" % (e.returncode, shlex.join(argv)))


def build(workdir, workloads):
    os.makedirs(workdir, exist_ok=True)
    py = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
    if "mtchurn" in workloads:
        run_checked(["gcc", "-O2", "-g", "-pthread", "-o", os.path.join(workdir, "mt_churn"),
                     os.path.join(WORKLOAD_SRC, "mt_churn.c")])
    if "python" in workloads:
        shutil.copyfile(os.path.join(WORKLOAD_SRC, "py_churn.py"), os.path.join(workdir, "py_churn.py"))
    if "sqlite" in workloads:
        with open(os.path.join(workdir, "sqlite.sql"), "w") as f:
            run_checked([py, os.path.join(WORKLOAD_SRC, "gen_sql.py"), "100000"], stdout=f)
    if "gcc" in workloads:
        with open(os.path.join(workdir, "big.c"), "w") as f:
            run_checked([py, os.path.join(WORKLOAD_SRC, "gen_c.py"), "160"], stdout=f)
    for w in workloads:
        if WORKLOADS[w].get("group") in ("programs", "large"):
            build_program(workdir, w)
    log("built workloads into %s" % workdir)


def build_program(workdir, name):
    """bench/programs/NAME.c into WORKDIR/NAME (gcc -O2 -g -pthread); returns the path."""
    exe = os.path.join(workdir, name)
    run_checked(["gcc", "-O2", "-g", "-pthread", "-o", exe, os.path.join(PROGRAMS_SRC, name + ".c")])
    return exe


def build_helper(workdir):
    os.makedirs(workdir, exist_ok=True)
    exe = os.path.join(workdir, "mtb_spawn")
    run_checked(["gcc", "-O2", "-Wall", "-o", exe, os.path.join(HERE, "mtb_spawn.c")])
    return exe


def find_cc1():
    try:
        out = subprocess.run(["gcc", "-print-prog-name=cc1"], check=True, capture_output=True,
                             text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as e:
        die("cannot locate cc1 via `gcc -print-prog-name=cc1`: %s" % e)
    if not os.path.isabs(out) or not os.access(out, os.X_OK):
        die("`gcc -print-prog-name=cc1` gave %r, not an executable path" % out)
    return out


# ---------------------------------------------------------------------------
# tools
# ---------------------------------------------------------------------------
def subst(s, **kw):
    for k, v in kw.items():
        s = s.replace("{%s}" % k, v)
    return s


def missing_reason(name, tool, lib):
    """None if the tool can run here, otherwise why not."""
    pre = subst(tool.env.get("LD_PRELOAD", ""), lib=lib, lib_before=BEFORE_LIB[0])
    for p in pre.replace(":", " ").split():
        if not os.path.exists(p):
            return "not installed (%s missing)" % p
    if tool.prefix and shutil.which(tool.prefix[0]) is None:
        return "not installed (%s not in PATH)" % tool.prefix[0]
    return None


def tool_invocation(tool, lib):
    """Human-readable 'env A=B prefix' for the report."""
    parts = ["%s=%s" % (k, subst(v, lib=lib, lib_before=BEFORE_LIB[0], data="DATA"))
             for k, v in tool.env.items()]
    parts += [subst(a, lib=lib, lib_before=BEFORE_LIB[0], data="DATA") for a in tool.prefix]
    return " ".join(parts) if parts else "(nothing)"


# ---------------------------------------------------------------------------
# one run
# ---------------------------------------------------------------------------
@dataclass
class Result:
    status: str        # ok | crashed | wrong output | bad exit | timed out | not installed | error
    detail: str = ""   # e.g. "SIGSEGV", "exit 1"
    wall: float = 0.0  # seconds
    rss: int = 0       # KiB (ru_maxrss)
    stdout: bytes = b""
    err_path: str = ""  # the run's stderr log
    out_ok: bool = False  # stdout equal to glibc's


_current_pgid = None


def run_once(helper, argv, base_env, extra_env, stdin_path, out_path, err_path, timeout):
    """Run argv through the mtb_spawn helper, in its own session, with extra_env set in
    the program only.  Returns (wall_s, wait_status, ru_maxrss_KiB, timed_out);
    wait_status is None if the helper itself failed or was killed."""
    global _current_pgid
    result = out_path + ".rusage"
    if os.path.exists(result):
        os.unlink(result)
    hargv = [helper, result]
    for k, v in extra_env.items():
        hargv += ["-e", "%s=%s" % (k, v)]
    hargv += ["--"] + argv
    fa = [(os.POSIX_SPAWN_OPEN, 0, stdin_path or "/dev/null", os.O_RDONLY, 0),
          (os.POSIX_SPAWN_OPEN, 1, out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
          (os.POSIX_SPAWN_OPEN, 2, err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)]
    timed_out = threading.Event()

    t0 = time.perf_counter()
    pid = os.posix_spawn(helper, hargv, base_env, file_actions=fa, setsid=True)
    _current_pgid = pid

    def kill():
        timed_out.set()
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, kill)
    timer.daemon = True
    timer.start()
    try:
        _, hstatus, ru = os.wait4(pid, 0)
        wall = time.perf_counter() - t0
    finally:
        timer.cancel()
    # anything the tool left in the session (e.g. heaptrack helpers) goes too
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    _current_pgid = None
    status, rss = None, 0
    if os.WIFEXITED(hstatus) and os.WEXITSTATUS(hstatus) == 0:
        try:
            with open(result) as f:
                st, rss_s, ns = f.read().split()
            status, rss, wall = int(st), int(rss_s), int(ns) / 1e9
            os.unlink(result)
        except (OSError, ValueError):
            status = None
    return wall, status, rss, timed_out.is_set()


def tool_timeout(tool, args):
    return min(args.timeout, tool.timeout) if tool.timeout else args.timeout


def signal_name(sig):
    try:
        return signal.Signals(sig).name
    except ValueError:
        return "signal %d" % sig


def resolve_exe(path):
    if os.sep in path:
        return path
    found = shutil.which(path)
    if not found:
        raise FileNotFoundError(path)
    return found


def run_workload(wname, tname, tool, i, args, base_env, ctx):
    w = WORKLOADS[wname]
    data = os.path.join(args.workdir, "tooldata", "%s-%s-%d" % (wname, tname, i))
    logs = os.path.join(args.workdir, "logs")
    os.makedirs(data, exist_ok=True)
    os.makedirs(logs, exist_ok=True)
    asm = os.path.join(args.workdir, "cc1-out-%s-%d.s" % (tname, i))
    kw = dict(dir=args.workdir, cc1=ctx["cc1"], asm=asm, lib=args.run_lib,
              lib_before=BEFORE_LIB[0], data=data)
    prog = [subst(a, **kw) for a in w["argv"]]
    prefix = [subst(a, **kw) for a in tool.prefix]
    env = dict(w.get("env", {}))
    env.update({k: subst(v, **kw) for k, v in tool.env.items()})
    argv = prefix + prog
    stdin = subst(w["stdin"], **kw) if w.get("stdin") else None
    out_path = os.path.join(logs, "%s-%s-%d.stdout" % (wname, tname, i))
    err_path = os.path.join(logs, "%s-%s-%d.stderr" % (wname, tname, i))
    if os.path.exists(asm):
        os.unlink(asm)
    try:
        argv[0] = resolve_exe(argv[0])
        wall, status, rss, to = run_once(ctx["helper"], argv, base_env, env, stdin, out_path,
                                         err_path, tool_timeout(tool, args))
    except OSError as e:
        return Result("error", "cannot start %s: %s" % (argv[0], e.strerror or e))
    with open(out_path, "rb") as f:
        out = f.read()
    if tool.drop:
        rx = re.compile(tool.drop)
        out = b"".join(l for l in out.splitlines(True)
                       if not rx.match(l.decode("utf-8", "replace").rstrip("\n")))
    if wname == "gcc" and status is not None:  # check line as in shared run.sh, minus the exit code
        try:
            with open(asm, "rb") as f:
                n = str(f.read().count(b"\n"))
            os.unlink(asm)
        except OSError:
            n = "none"
        line = ("cc1 asm_lines=%s\n" % n).encode()
        out += line
        with open(out_path, "ab") as f:
            f.write(line)
    if not args.keep_tool_data:
        shutil.rmtree(data, ignore_errors=True)
    r = Result("ok", wall=wall, rss=rss, stdout=out)
    if to:
        r.status, r.detail = "timed out", ">%g s" % tool_timeout(tool, args)
    elif status is None:
        r.status, r.detail = "error", "launcher failed"
    elif os.WIFSIGNALED(status):
        r.status, r.detail = "crashed", signal_name(os.WTERMSIG(status))
    elif os.WEXITSTATUS(status) != 0:
        r.status, r.detail = "bad exit", "exit %d" % os.WEXITSTATUS(status)
    r.err_path = err_path
    return r


def stderr_tail(path, n=6):
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 4000))
            lines = f.read().decode("utf-8", "replace").splitlines()[-n:]
        return "\n".join("      | " + l for l in lines)
    except OSError:
        return ""


# ---------------------------------------------------------------------------
# statistics and report
# ---------------------------------------------------------------------------
def fmt_ratio(x):
    if x < 10:
        return "%.2f" % x
    if x < 100:
        return "%.1f" % x
    return "%.0f" % x


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def summarize(results, tools, workloads):
    """results[(w, t)] = list of Result (index = run).  Returns per-cell dicts."""
    cells = {}
    for w in workloads:
        base = results.get((w, "glibc"), [])
        for t in tools:
            rs = results.get((w, t), [])
            c = dict(runs=len(rs))
            cells[(w, t)] = c
            if rs and rs[0].status == "not installed":
                c["fail"] = rs[0].status
                c["runs"] = 0
                continue
            bad = [r for r in rs if r.status != "ok"]
            # A non-zero exit with the right output (typically a leak checker reporting
            # leaks at exit) still gets its ratios, with the status noted next to them.
            if bad and all(r.status == "bad exit" and r.out_ok for r in bad):
                c["note"] = "%s (%s) %d/%d" % (bad[0].status, bad[0].detail, len(bad), len(rs))
                bad = []
            if bad:
                b = bad[0]
                txt = b.status + (" (%s)" % b.detail if b.detail else "")
                if b.status == "timed out":
                    txt = "timed out (%s)" % b.detail
                elif len(rs) > 1:
                    txt += " %d/%d" % (len(bad), len(rs))
                c["fail"] = txt
                continue
            if not rs:
                c["fail"] = "not run"
                continue
            c["wall_med"] = statistics.median(r.wall for r in rs)
            c["rss_med"] = statistics.median(r.rss for r in rs)
            pairs = [(r, base[i]) for i, r in enumerate(rs)
                     if i < len(base) and base[i].status == "ok" and base[i].wall > 0
                     and base[i].rss > 0]
            if t != "glibc" and not pairs:
                c["fail"] = "no glibc baseline"
                continue
            wr = [r.wall / b.wall for r, b in pairs]
            rr = [r.rss / b.rss for r, b in pairs]
            c["wall"] = statistics.median(wr)
            c["wall_min"], c["wall_max"] = min(wr), max(wr)
            c["rssr"] = statistics.median(rr)
    return cells


def geo_of(cells, t, workloads, key):
    """Geometric mean of a tool's ratios, only when every workload ran ok without a note."""
    vals = []
    for w in workloads:
        c = cells[(w, t)]
        if "fail" in c or "note" in c or key not in c:
            return None
        vals.append(c[key])
    return geomean(vals) if vals else None


def render(cells, info):
    """The peer section of docs/benchmarks.md, from the saved results (info = peers.json)."""
    tools, workloads, meta = info["tools"], info["workloads"], info["meta"]
    out = []
    a = out.append
    a("## Against glibc and the peer tools")
    a("")
    a("Generated by `bench/run_bench.py`.")
    a("")
    a("- date: %s" % meta["date"])
    a("- machine: %s CPUs (nproc), %s, %s RAM; 1-minute load average %s at start, %s at end" %
      (meta["nproc"], meta["cpu"], meta["mem"], meta["load"], meta["load_end"]))
    a("- system: %s, kernel %s" % (meta["glibc"], meta["kernel"]))
    a("- command (from the repository root): `%s`" % meta["cmd"])
    lower = sorted({(v, t) for t, v in info.get("tool_timeouts", {}).items()
                    if t in tools and v and v < info["timeout"]})
    low = "".join("; %g s for %s" % (v, t) for v, t in lower)
    a("- runs: %d per tool and workload, interleaved (run i: %s), fewer where the runs "
      "column says so; timeout %g s per run%s; the whole took %d min"
      % (info["runs"], ", ".join(tools), info["timeout"], low,
         round(info.get("elapsed_s", 0) / 60.0)))
    if "memtype" in " ".join(tools):
        a("- memtype library: %s" % info["lib"])
    a("")
    a("Wall time is the whole process (spawn to `wait4`), peak RSS is `ru_maxrss` of the "
      "process as `wait4` reports it. Ratios are tool/glibc for paired runs (run i of the tool "
      "against run i of glibc, which ran just before it); a cell shows the median ratio and, "
      "in parentheses, the min–max over the runs. The glibc row shows absolute medians "
      "(seconds, MiB). `geo mean` is the geometric mean over the workloads (only when every "
      "workload ran ok). Each run's stdout must equal glibc's; otherwise the cell says "
      "`wrong output`, `crashed (SIGNAL)`, `bad exit (exit N)` or `timed out`, with how many "
      "runs failed; a non-zero exit with the right output (e.g. a leak report at exit) keeps "
      "its ratio with the exit noted and is left out of the geometric mean. "
      "A timed-out tool is not run again on that workload.")
    a("")
    if len(tools) > 1:
        a("![wall time ratio per tool and workload](bench-wall.svg)")
        a("")
        a("![peak RSS ratio per tool and workload](bench-rss.svg)")
        a("")

    def table(title, key, lo, hi, absfmt, absval):
        a("### " + title)
        a("")
        a("| tool | runs | " + " | ".join(workloads) + " | geo mean |")
        a("|---|---|" + "---|" * len(workloads) + "---|")
        for t in tools:
            row, runs = [], set()
            for w in workloads:
                c = cells[(w, t)]
                if c["runs"]:
                    runs.add(c["runs"])
                if "fail" in c:
                    row.append(c["fail"])
                elif t == "glibc":
                    row.append(absfmt(c[absval]))
                else:
                    s = fmt_ratio(c[key])
                    if lo and c["runs"] > 1:
                        s += " (%s–%s)" % (fmt_ratio(c[lo]), fmt_ratio(c[hi]))
                    if "note" in c:
                        s += ", " + c["note"]
                    row.append(s)
            if t == "glibc":
                geo = "1.00"
            else:
                g = geo_of(cells, t, workloads, key)
                geo = fmt_ratio(g) if g else "—"
            label = info["descs"].get(t, t)
            if t == "glibc":
                label += ", absolute"
            runs_s = "/".join(str(r) for r in sorted(runs)) if runs else "—"
            a("| %s | %s | %s | %s |" % (label, runs_s, " | ".join(row), geo))
        a("")

    table("Wall time, tool / glibc", "wall", "wall_min", "wall_max",
          lambda v: "%.2f s" % v, "wall_med")
    table("Peak RSS, tool / glibc (median of paired ratios)", "rssr", None, None,
          lambda v: "%.1f MiB" % (v / 1024.0), "rss_med")
    a("### Workloads")
    a("")
    for w in workloads:
        a("- **%s**: %s" % (w, WORKLOADS[w]["what"]))
    a("")
    a("### Tools")
    a("")
    for t in tools:
        a("- **%s** (`%s`): `%s`" % (info["descs"].get(t, t), t, info["invocations"].get(t, "?")))
    a("")
    return "\n".join(out)


# ---------------------------------------------------------------------------
# saved results, charts, the whole document
# ---------------------------------------------------------------------------
RESULTS = os.path.join(HERE, "results")
PEERS_JSON = os.path.join(RESULTS, "peers.json")
SCALE_JSON = os.path.join(RESULTS, "scale.json")
SHORT_FAIL = [("not installed", "not installed"), ("timed out", "timed out"), ("crashed", "crashed"),
              ("wrong output", "wrong output"), ("bad exit", "bad exit"), ("error", "error")]


def save_json(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)
    log("saved %s" % path)


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def snapshot_lib(lib, workdir):
    """Copies libmemtype.so into the work dir so that a rebuild during the run cannot
    change what is measured; returns (copy, description for the report)."""
    if not os.path.exists(lib):
        return lib, "`%s` (missing)" % lib
    os.makedirs(workdir, exist_ok=True)
    with open(lib, "rb") as f:
        blob = f.read()
    digest = hashlib.sha256(blob).hexdigest()[:12]
    copy = os.path.join(workdir, "libmemtype-%s.so" % digest)
    if not os.path.exists(copy):
        with open(copy + ".tmp", "wb") as f:
            f.write(blob)
        os.replace(copy + ".tmp", copy)
    inside = lib.startswith(REPO + os.sep)
    rev = sh(["git", "-C", REPO, "describe", "--always", "--dirty"]).strip() if inside else ""
    desc = "`%s`, sha256 %s…%s (copied to the work dir at start)" % (
        os.path.relpath(lib, REPO) if lib.startswith(REPO + os.sep) else lib, digest,
        ", repository at `%s`" % rev if rev else "")
    return copy, desc


def peers_to_json(results, args, meta):
    return dict(
        meta=meta, runs=args.runs, timeout=args.timeout, tools=args.tools,
        workloads=args.workloads, lib=args.lib_desc, elapsed_s=meta.pop("elapsed_s", 0),
        descs={t: TOOLS[t].desc or t for t in args.tools},
        invocations={t: tool_invocation(TOOLS[t], args.lib) for t in args.tools},
        tool_runs={t: TOOLS[t].runs for t in args.tools},
        tool_timeouts={t: TOOLS[t].timeout for t in args.tools},
        results={"%s/%s" % k: [dict(status=r.status, detail=r.detail, wall=round(r.wall, 4),
                                    rss=r.rss, out_ok=r.out_ok) for r in rs]
                 for k, rs in results.items()})


def peers_cells(info):
    results = {}
    for k, rs in info["results"].items():
        w, t = k.split("/", 1)
        results[(w, t)] = [Result(r["status"], r["detail"], r["wall"], r["rss"],
                                  out_ok=r["out_ok"]) for r in rs]
    return summarize(results, info["tools"], info["workloads"])


def round_order(tools, i):
    """The tools in the order of round i: with --before-lib each memtype tool and its
    @before swap places every other round, so that neither always runs second (a warm
    page cache, the other's frequency boost: order alone moved after/before by some 3 %)."""
    order = list(tools)
    if i % 2:
        for k, t in enumerate(order):
            if k + 1 < len(order) and order[k + 1] == t + "@before":
                order[k], order[k + 1] = order[k + 1], t
    return order


def before_after(info):
    """--before-lib: for each memtype tool, the median over rounds of the paired wall ratio
    tool / tool@before per workload, and their geometric mean (lines to print)."""
    out = []
    for t in [t for t in info["tools"] if t + "@before" in info["tools"]]:
        meds = []
        for w in info["workloads"]:
            a = info["results"].get("%s/%s" % (w, t), [])
            b = info["results"].get("%s/%s@before" % (w, t), [])
            rs = [x["wall"] / y["wall"] for x, y in zip(a, b)
                  if x["status"] == "ok" and y["status"] == "ok" and y["wall"] > 0]
            if rs:
                meds.append(statistics.median(rs))
                out.append("  %-18s %-8s after/before %.3f (%d rounds)" % (t, w, meds[-1], len(rs)))
        if len(meds) == len(info["workloads"]):
            out.append("  %-18s geometric mean after/before %.3f" % (t, geomean(meds)))
    return out


def short_fail(txt):
    for k, v in SHORT_FAIL:
        if txt.startswith(k):
            m = re.match(r"crashed \((\w+)\)", txt)
            return m.group(1) if m else v
    return txt


def peer_charts(cells, info, docs):
    tools = [t for t in info["tools"] if t != "glibc"]
    workloads = info["workloads"]
    series = workloads + ["geo mean"]
    written = []
    for key, name, title in (("wall", "bench-wall.svg", "Wall time, tool / glibc"),
                             ("rssr", "bench-rss.svg", "Peak RSS, tool / glibc")):
        rows = []
        for t in tools:
            vals, fails = {}, {}
            for w in workloads:
                c = cells[(w, t)]
                if "fail" in c:
                    fails[w] = short_fail(c["fail"])
                else:
                    vals[w] = c[key]
            vals["geo mean"] = geo_of(cells, t, workloads, key)
            rows.append((info["descs"].get(t, t), vals, fails))
        sub = "median of paired ratios (log scale), %s; from docs/benchmarks.md" % info["meta"]["date"]
        text = svg.ratio_bars(title, sub, rows, series)
        path = os.path.join(docs, name)
        with open(path, "w") as f:
            f.write(text)
        written.append(path)
    return written


def peer_findings(cells, info):
    """Sentences on where memtype stands, computed from the peer tables."""
    tools, workloads = info["tools"], info["workloads"]
    s = []
    if "memtype" not in tools:
        return s
    g = {t: geo_of(cells, t, workloads, "wall") for t in tools if t != "glibc"}
    r = {t: geo_of(cells, t, workloads, "rssr") for t in tools if t != "glibc"}
    d = info["descs"]
    if g.get("memtype"):
        txt = ("Wall time, geometric mean over the %d workloads (glibc = 1): memtype %s"
               % (len(workloads), fmt_ratio(g["memtype"])))
        fast = [t for t in ("jemalloc", "mimalloc", "tcmalloc") if g.get(t)]
        if fast:
            txt += "; " + ", ".join("%s %s" % (t, fmt_ratio(g[t])) for t in fast)
            best = min(fast, key=lambda t: g[t])
            txt += (" (memtype / %s, the fastest plain allocator here: %.2f)"
                    % (best, g["memtype"] / g[best]))
        if r.get("memtype"):
            txt += ". Peak RSS: memtype %s" % fmt_ratio(r["memtype"])
            if fast:
                txt += ", " + ", ".join("%s %s" % (t, fmt_ratio(r[t])) for t in fast if r.get(t))
        s.append(txt + ".")
        per = []
        for w in workloads:
            c = cells[(w, "memtype")]
            if "wall" in c:
                cmp_ = ""
                jc = cells.get((w, "jemalloc"), {})
                if "wall" in jc:
                    cmp_ = " (jemalloc %s)" % fmt_ratio(jc["wall"])
                per.append("%s %s%s" % (w, fmt_ratio(c["wall"]), cmp_))
        if per:
            s.append("memtype per workload, wall / glibc: " + ", ".join(per) + ".")
    dbg = [t for t in tools if t not in ("glibc", "memtype", "jemalloc", "mimalloc", "tcmalloc")
           and not t.startswith("memtype")]
    ok = sorted((g[t], t) for t in dbg if g.get(t))
    if ok:
        s.append("The debugging tools, wall geo mean: " +
                 ", ".join("%s %s" % (d.get(t, t), fmt_ratio(v)) for v, t in ok) + ".")
    broken = []
    for t in dbg:
        if g.get(t):
            continue
        fails = ["%s: %s" % (w, cells[(w, t)].get("fail") or cells[(w, t)].get("note") or "ok")
                 for w in workloads]
        broken.append("%s (%s)" % (d.get(t, t), "; ".join(fails)))
    if broken:
        s.append("Without a full row: " + ", ".join(broken) + ".")
    mt_fail = [w for w in workloads if "fail" in cells[(w, "memtype")]]
    if mt_fail:
        s.append("**memtype failed on %s**: %s." % (", ".join(mt_fail), "; ".join(
            cells[(w, "memtype")]["fail"] for w in mt_fail)))
    return s


def took(peers, sc):
    parts = []
    if peers and peers.get("elapsed_s"):
        parts.append("the peer tables took %d min" % round(peers["elapsed_s"] / 60.0))
    curves = (sc or {}).get("curves", {}).values()
    if curves and all("elapsed_s" in c.get("run", {}) for c in curves):
        parts.append("the scale curves %d min" % round(sum(c["run"]["elapsed_s"] for c in curves) / 60.0))
    return ("; when last measured, " + " and ".join(parts)) if parts else ""


MAIN_DOC = os.path.join(REPO, "docs", "benchmarks.md")


def is_main_doc(out_path):
    return os.path.abspath(out_path) == os.path.abspath(MAIN_DOC)


def results_json(out_path):
    """Where the measurements behind a doc are kept: peers.json for
    docs/benchmarks.md, results/<name>.json for a side doc (--out)."""
    if is_main_doc(out_path):
        return PEERS_JSON
    return os.path.join(RESULTS, os.path.splitext(os.path.basename(out_path))[0] + ".json")


def write_text(out_path, lines, what):
    """Writes a doc from its lines, replacing the file in one step."""
    text = "\n".join(lines).rstrip("\n") + "\n"
    tmp = out_path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, out_path)
    log("wrote %s%s" % (out_path, what))
    return text


def write_side_doc(out_path):
    """A side doc (--out other than docs/benchmarks.md): the peer tables of its own
    measurements only; the main doc, its charts and peers.json stay as they are."""
    peers = load_json(results_json(out_path))
    if not peers:
        raise SystemExit("run_bench: no measurements in %s to render" % results_json(out_path))
    tools = ", ".join(TOOLS[t].desc if t in TOOLS else t for t in peers["tools"])
    out = ["# memtype benchmarks: %s" % os.path.splitext(os.path.basename(out_path))[0], "",
           "Tools: %s. Written by `bench/run_bench.py` (command below) from "
           "`%s`; `--render-only --out %s` rebuilds it. The full comparison with every peer "
           "and the scale curves is [benchmarks.md](benchmarks.md)."
           % (tools, os.path.relpath(results_json(out_path), REPO),
              os.path.relpath(out_path, REPO)), "",
           # the charts belong to the main doc
           "\n".join(l for l in render(peers_cells(peers), peers).split("\n")
                     if not l.startswith("!["))]
    return write_text(out_path, out, "")


def write_doc(out_path):
    """Writes docs/benchmarks.md and the charts beside it from bench/results/*.json."""
    if not is_main_doc(out_path):
        return write_side_doc(out_path)
    docs = os.path.dirname(os.path.abspath(out_path))
    os.makedirs(docs, exist_ok=True)
    sys.modules.setdefault("run_bench", sys.modules[__name__])
    import scale
    import report_speed
    peers, sc = load_json(PEERS_JSON), load_json(SCALE_JSON)
    speed = load_json(report_speed.RESULTS)
    out = ["# memtype benchmarks", "",
           "Generated by `bench/run_bench.py` and `bench/scale.py` from the measurements saved "
           "in `bench/results/`; do not edit by hand. To measure everything again and rewrite "
           "this page and its charts (as root, on an idle machine%s):" % took(peers, sc), "",
           "```sh", ALL_COMMAND, "```", ""]
    findings = []
    cells = None
    if peers:
        cells = peers_cells(peers)
        findings += peer_findings(cells, peers)
    if sc:
        findings += scale.findings(sc)
    findings += report_speed.findings(speed)
    if findings:
        out += ["## Summary", ""] + ["- " + f for f in findings] + [""]
    if peers:
        out.append(render(cells, peers))
        if len(peers["tools"]) > 1:
            peer_charts(cells, peers, docs)
    if sc:
        out.append(scale.render(sc))
        scale.charts(sc, docs)
    if speed:
        out.append(report_speed.render(speed))
    import programs
    section = programs.render_section()
    if section:
        out.append(section)
        programs.charts(docs)
    large = programs.render_large_section()
    if large:
        out.append(large)
    return write_text(out_path, out, " (and its charts)")


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_meta():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = "%.1f GiB" % (int(line.split()[1]) / 1024.0 / 1024.0)
                    break
    except OSError:
        pass
    glibc = (sh(["ldd", "--version"]).splitlines() or [""])[0].strip()
    if not glibc:
        try:
            glibc = os.confstr("CS_GNU_LIBC_VERSION")
        except (ValueError, OSError):
            glibc = "glibc ?"
    osname = ""
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    osname = line.split("=", 1)[1].strip().strip('"') + ", "
    except OSError:
        pass
    return dict(
        date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        nproc=os.cpu_count(), cpu=cpu, mem=mem, glibc=osname + glibc,
        kernel=platform.release(), load="%.2f" % os.getloadavg()[0])


# ---------------------------------------------------------------------------
def parse_args():
    sys.modules.setdefault("run_bench", sys.modules[__name__])
    import scale
    p = argparse.ArgumentParser(
        description="Benchmark memtype against glibc (and peer tools) on the reference "
                    "workloads; writes docs/benchmarks.md (with --all: every peer tool, the "
                    "scale curves of bench/scale.py and the charts).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="tools: %s\nworkloads: %s\n\n"
               "The one command that regenerates docs/benchmarks.md and its charts:\n"
               "    %s\n"
               "(as root it installs the peers with `sh scripts/deps.sh bench`).\n\n"
               "Tools are defined one per line in the TOOLS table at the top of this script.\n"
               "LD_PRELOAD, MALLOC_*, MEMTYPE_* and similar inherited variables are removed\n"
               "from the workloads' environment; add a memtype mode line to TOOLS instead.\n"
               "Per-run stdout/stderr are kept in WORKDIR/logs/. Raw results are saved in\n"
               "bench/results/{peers,scale}.json, from which --render-only rebuilds the doc."
               % (", ".join(TOOLS), ", ".join(WORKLOADS), ALL_COMMAND))
    p.add_argument("--all", action="store_true",
                   help="everything: install the peers (as root), run every tool on every "
                        "workload, then the scale curves, and write the doc and charts")
    p.add_argument("--render-only", action="store_true",
                   help="measure nothing: rebuild docs/benchmarks.md and the charts from "
                        "bench/results/*.json")
    p.add_argument("--runs", type=int, default=5, help="runs per tool and workload (default 5; "
                   "slow tools are capped at their own count)")
    p.add_argument("--tools", default=DEFAULT_TOOLS,
                   help="comma-separated tools (default %s; --all: every tool; glibc is always "
                        "added)" % DEFAULT_TOOLS)
    p.add_argument("--workloads", default=DEFAULT_WORKLOADS,
                   help="comma-separated workloads (default %s), or the name of a group: "
                        "programs (%s) or large (%s), whose results are kept apart in "
                        "bench/results/GROUP.json (programs: shown in the last section of "
                        "docs/benchmarks.md)"
                        % (DEFAULT_WORKLOADS, ",".join(GROUPS["programs"]), ",".join(GROUPS["large"])))
    p.add_argument("--lib", default=os.path.join(REPO, "build", "lib", "libmemtype.so"),
                   help="libmemtype.so for the memtype tools (default <repo>/build/lib/libmemtype.so; "
                        "it is copied to the work dir at start)")
    p.add_argument("--before-lib", default="",
                   help="a second libmemtype.so (e.g. a build of an earlier commit): every "
                        "selected memtype tool also runs with it as <tool>@before, interleaved, "
                        "and the after/before geometric means are printed at the end")
    p.add_argument("--workdir", default="/tmp/mtbench", help="build/scratch dir (default /tmp/mtbench)")
    p.add_argument("--timeout", type=float, default=300.0,
                   help="seconds before a run is killed and reported 'timed out' (default 300; "
                        "lower for the tools that say so in TOOLS); a tool that times out is "
                        "not run again on that workload")
    p.add_argument("--out", default=os.path.join(REPO, "docs", "benchmarks.md"),
                   help="markdown report path (default <repo>/docs/benchmarks.md); the charts "
                        "go beside it")
    p.add_argument("--no-write", action="store_true",
                   help="print the report, write nothing (neither the doc nor bench/results/)")
    p.add_argument("--no-build", action="store_true", help="reuse the workloads already in --workdir")
    p.add_argument("--no-doc", action="store_true", help="save the results in bench/results/, "
                   "leave the doc as it is")
    p.add_argument("--keep-tool-data", action="store_true",
                   help="keep tool output files (heaptrack, dmalloc logs...) in WORKDIR/tooldata")
    p.add_argument("--list", action="store_true", help="list tools and whether they are installed")
    g = p.add_argument_group("scale curves (with --all; see bench/scale.py)")
    scale.add_args(g)
    a = p.parse_args()
    a.lib = os.path.abspath(a.lib)
    a.workdir = os.path.abspath(a.workdir)
    if a.runs < 1:
        p.error("--runs must be >= 1")
    if a.timeout <= 0:
        p.error("--timeout must be > 0")
    if a.all:
        a.tools = ",".join(TOOLS)
        a.workloads = DEFAULT_WORKLOADS
    a.tools = [t.strip() for t in a.tools.split(",") if t.strip()]
    a.workloads = [w.strip() for w in a.workloads.split(",") if w.strip()]
    a.group = None
    if len(a.workloads) == 1 and a.workloads[0] in GROUPS:
        a.group = a.workloads[0]
        a.workloads = list(GROUPS[a.group])
    for t in a.tools:
        if t not in TOOLS:
            p.error("unknown tool %r (known: %s)" % (t, ", ".join(TOOLS)))
    for w in a.workloads:
        if w not in WORKLOADS:
            p.error("unknown workload %r (known: %s)" % (w, ", ".join(WORKLOADS)))
    if not a.workloads:
        p.error("no workloads selected")
    if "glibc" in a.tools:
        a.tools.remove("glibc")
    a.tools = ["glibc"] + list(dict.fromkeys(a.tools))
    if a.before_lib:
        a.before_lib = os.path.abspath(a.before_lib)
        if not os.path.exists(a.before_lib):
            p.error("--before-lib %s: no such file" % a.before_lib)
        for t in [t for t in a.tools if t.startswith("memtype")]:
            old = TOOLS[t]
            TOOLS[t + "@before"] = dataclasses.replace(
                old, env={k: v.replace("{lib}", "{lib_before}") for k, v in old.env.items()},
                desc=old.desc + " (--before-lib)")
            a.tools.insert(a.tools.index(t) + 1, t + "@before")
    scale.check_args(p, a)
    return a


def prepare_all(args):
    """--all: install the peers (as root) and build memtype if its library is missing."""
    deps = os.path.join(REPO, "scripts", "deps.sh")
    r = subprocess.run(["sh", deps, "bench"])
    if r.returncode != 0:
        if os.geteuid() == 0:
            die("`sh scripts/deps.sh bench` failed (exit %d)" % r.returncode)
        log("warning: not root, so the missing peers above are not installed; they will be "
            "reported as not installed")
    if not os.path.exists(args.lib):
        build = os.path.join(REPO, "build")
        if args.lib != os.path.join(build, "lib", "libmemtype.so"):
            die("%s is missing" % args.lib)
        log("building memtype into %s" % build)
        run_checked(["cmake", "-S", REPO, "-B", build, "-DCMAKE_BUILD_TYPE=Release"])
        run_checked(["cmake", "--build", build, "-j", str(os.cpu_count() or 1)])


def run_peers(args, base_env):
    ctx = {"cc1": find_cc1() if "gcc" in args.workloads else "",
           "helper": build_helper(args.workdir)}
    for w in args.workloads:
        exe = WORKLOADS[w]["argv"][0]
        if not exe.startswith("{") and not os.access(exe, os.X_OK):
            die("workload %s needs %s, which is missing" % (w, exe))
    meta = machine_meta()
    if os.getloadavg()[0] > 0.5 * (os.cpu_count() or 1):
        log("warning: load average is %.2f on %d CPUs; timings will be noisy"
            % (os.getloadavg()[0], os.cpu_count() or 1))
    if args.no_build:
        log("--no-build: using %s as is" % args.workdir)
    else:
        build(args.workdir, args.workloads)

    missing = {t: missing_reason(t, TOOLS[t], args.run_lib) for t in args.tools}
    for t, why in missing.items():
        if why:
            log("tool %s: %s; reported as not installed" % (t, why))
    if missing["glibc"]:
        die("glibc baseline cannot run: " + missing["glibc"])

    t_start = time.time()
    results = {}
    abandoned = set()
    for w in args.workloads:
        for t in args.tools:
            results[(w, t)] = []
            if missing[t]:
                results[(w, t)].append(Result("not installed", missing[t]))
        ref = None
        for i in range(args.runs):
            for t in round_order(args.tools, i):
                tool = TOOLS[t]
                nruns = min(args.runs, tool.runs) if tool.runs else args.runs
                if missing[t] or i >= nruns or (w, t) in abandoned:
                    continue
                r = run_workload(w, t, tool, i, args, base_env, ctx)
                hint = ""
                if r.status in ("ok", "bad exit"):
                    if ref is None and t == "glibc" and r.status == "ok":
                        ref = r.stdout
                    r.out_ok = ref is not None and r.stdout == ref
                    if r.status == "ok" and ref is None and t != "glibc":
                        r.detail = "output unchecked: no glibc output yet"
                    if r.status == "ok" and ref is not None and not r.out_ok:
                        r.status = "wrong output"
                        save = os.path.join(args.workdir, "logs", "%s-glibc.expected" % w)
                        with open(save, "wb") as f:
                            f.write(ref)
                        hint = ("      stdout differs from glibc's: diff %s %s"
                                % (save, r.err_path[:-len(".stderr")] + ".stdout"))
                results[(w, t)].append(r)
                msg = "[%s run %d/%d] %-10s" % (w, i + 1, nruns, t)
                if r.status in ("ok", "wrong output", "crashed", "bad exit"):
                    msg += " %7.2f s %8.1f MiB" % (r.wall, r.rss / 1024.0)
                msg += "  " + r.status + (" (%s)" % r.detail if r.detail else "")
                log(msg)
                if hint:
                    log(hint)
                if r.status != "ok":
                    tail = stderr_tail(r.err_path)
                    if tail:
                        log("      stderr tail (%s):\n%s" % (r.err_path, tail))
                    if t == "glibc":
                        log("      warning: the glibc baseline failed on %s" % w)
                if r.status in ("timed out", "error"):
                    abandoned.add((w, t))

    meta["load_end"] = "%.2f" % os.getloadavg()[0]
    meta["elapsed_s"] = round(time.time() - t_start)
    script = os.path.relpath(os.path.abspath(sys.argv[0]), REPO)
    meta["cmd"] = "python3 " + shlex.join([script] + sys.argv[1:])
    return peers_to_json(results, args, meta)


def main():
    args = parse_args()
    if args.list:
        for t, tool in TOOLS.items():
            why = missing_reason(t, tool, args.lib)
            print("%-15s %-14s %s" % (t, "not installed" if why else "ok",
                                       tool_invocation(tool, args.lib)))
            if why:
                print("%-15s %s" % ("", why))
        return 0
    if args.render_only:
        print(write_doc(args.out))
        return 0
    if args.all:
        prepare_all(args)

    base_env = {}
    stripped = []
    for k, v in os.environ.items():
        if STRIP_ENV.match(k):
            stripped.append(k)
        else:
            base_env[k] = v
    if stripped:
        log("note: not passing inherited %s to the workloads" % ", ".join(sorted(stripped)))
    if any(t.startswith("memtype") for t in args.tools + (args.scale_tools if args.all else [])):
        args.run_lib, args.lib_desc = snapshot_lib(args.lib, args.workdir)
    else:
        args.run_lib, args.lib_desc = args.lib, ""
    args.lib_snapshot = args.run_lib
    if args.before_lib:
        BEFORE_LIB[0], before_desc = snapshot_lib(args.before_lib, args.workdir)
        log("before library: %s" % before_desc)

    t0 = time.time()
    info = run_peers(args, base_env)
    if args.no_write:
        print(render(peers_cells(info), info))
    elif args.group:
        save_json(os.path.join(RESULTS, args.group + ".json"), info)
    else:
        save_json(results_json(args.out), info)
    if args.before_lib:
        print("after (--lib) / before (--before-lib), median of paired wall ratios:")
        print("\n".join(before_after(info)))
    if args.all:
        import scale
        data = scale.run(args, save=not args.no_write)
        if args.no_write:
            print(scale.render(data))
        import report_speed
        speed = report_speed.run(args)
        if args.no_write:
            print(report_speed.render(speed))
        else:
            save_json(report_speed.RESULTS, speed)
    if args.all and not args.no_write:
        subprocess.run([sys.executable, os.path.join(HERE, "programs.py"),
                        "--lib", args.lib, "--workdir", args.workdir, "--no-doc"], check=True)
    if not args.no_write and not args.no_doc:
        print(write_doc(args.out))
    log("done in %.1f min" % ((time.time() - t0) / 60.0))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        if _current_pgid:
            try:
                os.killpg(_current_pgid, signal.SIGKILL)
            except OSError:
                pass
        log("interrupted")
        sys.exit(130)

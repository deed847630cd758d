#!/usr/bin/python3
"""run_cpython_tests.py: CPython's own regression tests, with and without memtype.

Each test module named in a list (tests/cpython/modules.txt by default) is run
twice by Debian's interpreter and Debian's test runner (`/usr/bin/python3 -m
test`, package libpython3.11-testsuite), both times with PYTHONMALLOC=malloc so
that every object goes through malloc:

  plain    the interpreter as it is;
  memtype  with libmemtype.so preloaded and its checks on: MEMTYPE_TRASH=1,
           MEMTYPE_REDZONE=1, MEMTYPE_GUARD_RATE=1000, MEMTYPE_LEAKS=1 with
           MEMTYPE_LEAK_LINES=0 (the leak records go to the dumps only),
           MEMTYPE_SKIP= (no unwinding to look through strdup: see CHECKS),
           the dumps written to the run's own directory.

A module passes when both runs give the same result: the runner's verdict for
the module (passed, failed, skipped, env changed, no tests, crashed, timed
out) and the counts of its test cases (from --junit-xml: run, failures,
errors, skipped). A module whose two runs differ is run again once in both
modes (some tests depend on timing: threads, signals, subprocesses), and only
a difference seen twice counts. Besides, every memtype run's dumps are read:
a heap error reported by memtype (in the main process or in any process it
started) is a finding and fails the module; the leak scan's totals and the
guarded blocks are shown.

Usage (as root the test suite is installed with apt-get when it is missing):

  /usr/bin/python3 tests/cpython/run_cpython_tests.py --lib build/lib/libmemtype.so
  /usr/bin/python3 tests/cpython/run_cpython_tests.py --build build --only test_json,test_set
  /usr/bin/python3 tests/cpython/run_cpython_tests.py --lib L --markdown table.md --out /tmp/cpy

Options: --modules FILE (one module a line, `#` comments; words after a
module's name are extra runner arguments for it, e.g. `-i PATTERN` to leave
out tests this machine cannot run), --only M1,M2 (these instead), --timeout SECS (per run, default 900), --use RES (regrtest -u,
default all but network, urlfetch, gui, audio, curses, largefile,
extralargefile, cpu, decimal, tzdata), --out DIR (runs kept there; default a
temp dir, removed at the end unless --keep), --no-rerun, --no-install,
--markdown FILE (the table for docs/reliability.md), --on-error ACTION
(MEMTYPE_ON_ERROR for the memtype runs; default memtype's own, abort),
--set MEMTYPE_X=VALUE (one more variable for the memtype runs, repeatable).

Exit: 0 every module the same and no heap error; 1 otherwise; 77 the test
suite (or Debian's python3.11) is missing and was not installed; 2 usage.
Python standard library only.
"""
import argparse
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PYTHON = "/usr/bin/python3"
PACKAGE = "libpython3.11-testsuite"
DEFAULT_USE = "all,-network,-urlfetch,-gui,-audio,-curses,-largefile,-extralargefile,-cpu,-decimal,-tzdata"
# The checks. MEMTYPE_LEAK_LINES=0: the leak scan runs and its records go to
# the dump, but nothing is printed; many tests compare a child's stderr with
# b"" (and a forked child of CPython leaks its old locks on purpose, see
# _PyThread_at_fork_reinit), so LEAK lines would fail them.
# MEMTYPE_SKIP= (no wrapper looked through): looking through strdup, the
# default, unwinds the stack with libunwind, whose first use opens a pipe
# that it keeps for the life of the process (to check addresses); a test that
# lists a child's descriptors (test_subprocess's test_pass_fds_redirected)
# finds it. No check needs the look-through: blocks from strdup are typed by
# strdup's call site in libc instead of its caller. --set MEMTYPE_SKIP=...
# puts it back.
CHECKS = {"MEMTYPE_TRASH": "1", "MEMTYPE_REDZONE": "1", "MEMTYPE_GUARD_RATE": "1000",
          "MEMTYPE_LEAKS": "1", "MEMTYPE_LEAK_LINES": "0", "MEMTYPE_SKIP": ""}
SKIP = 77


def log(msg):
    print(msg, flush=True)


# --- the test suite -----------------------------------------------------------

def python_version():
    try:
        out = subprocess.run([PYTHON, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out or None


def suite_present(version):
    return os.path.isfile("/usr/lib/python%s/test/libregrtest/main.py" % version)


def ensure_suite(allow_install):
    """The interpreter's version when Debian's python3 and its test suite are
    there (installing the suite as root when allowed), else None."""
    version = python_version()
    if version is None:
        log("SKIP: %s is missing (Debian's python3)" % PYTHON)
        return None
    if suite_present(version):
        return version
    package = "libpython%s-testsuite" % version
    if allow_install and os.geteuid() == 0 and shutil.which("apt-get"):
        log("installing %s with apt-get" % package)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        rc = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", package],
                            env=env).returncode
        if rc != 0:
            subprocess.run(["apt-get", "update"], env=env)
            subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", package],
                           env=env)
        if suite_present(version):
            return version
    log("SKIP: CPython's test suite is not installed; as root: apt-get install %s" % package)
    return None


def read_modules(path):
    """[(module, [extra regrtest arguments])]: one module a line, what follows
    its name on the line is passed to the runner for it (e.g. `-i PATTERN`
    to leave out a test this machine cannot run); `#` starts a comment."""
    mods = []
    with open(path) as f:
        for line in f:
            words = line.split("#", 1)[0].split()
            if words:
                mods.append((words[0], words[1:]))
    return mods


# --- one run --------------------------------------------------------------------

class Run:
    """What one run of one module gave."""

    def __init__(self):
        self.status = "?"        # passed, failed, skipped, env changed, no tests, crashed ..., timeout
        self.rc = None
        self.seconds = 0.0
        self.counts = None       # (run, failures, errors, skipped) from the junit file
        self.failed = frozenset()  # the test cases that failed or raised an error
        self.output = ""
        self.findings = []       # memtype ERROR/warning lines seen on the output
        self.dumps = 0           # memtype runs: processes that wrote a dump
        self.fatal_dumps = 0     # ... of which died of a fatal signal
        self.heap_errors = 0     # heap errors recorded in the dumps
        self.error_dumps = []    # the dumps that hold them
        self.leaks = {}          # kind -> [bytes, blocks], summed over the dumps
        self.guarded = 0         # blocks given guard pages, summed
        self.bad_dumps = 0       # unreadable (truncated, interrupted) dumps

    def key(self):
        return (self.status, self.counts, self.failed)

    def result_text(self):
        if self.counts is None:
            return self.status
        run, fail, err, skip = self.counts
        parts = [self.status, "%d run" % run]
        if fail:
            parts.append("%d failures" % fail)
        if err:
            parts.append("%d errors" % err)
        if skip:
            parts.append("%d skipped" % skip)
        return ", ".join(parts)


def module_status(rc, out, timed_out):
    """The runner's verdict on a single-module run, from its summary."""
    if timed_out:
        return "timeout"
    if rc is not None and rc < 0:
        try:
            return "crashed (%s)" % signal.Signals(-rc).name
        except ValueError:
            return "crashed (signal %d)" % -rc
    tail = out[-20000:]
    if "Tests result:" not in tail:
        return "crashed (exit %s, no summary)" % rc
    labels = []
    if re.search(r"^\d+ tests? failed", tail, re.M) or re.search(r"^\d+ tests? failed again", tail, re.M):
        labels.append("failed")
    if re.search(r"^(All )?\d+ tests? OK\.", tail, re.M):
        labels.append("passed")
    if re.search(r"^\d+ tests? skipped", tail, re.M):
        labels.append("skipped")
    if re.search(r"altered the execution environment", tail, re.M):
        labels.append("env changed")
    if re.search(r"^\d+ tests? run no tests", tail, re.M):
        labels.append("no tests")
    if re.search(r"Tests result: .*INTERRUPTED", tail):
        labels.append("interrupted")
    if "failed" in labels:
        labels = [x for x in labels if x != "passed"]
    return "+".join(labels) or "unknown (exit %s)" % rc


def junit_counts(path):
    """(run, failures, errors, skipped) and the names of the failed cases."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None, frozenset()
    run = fail = err = skip = 0
    failed = set()
    for case in root.iter("testcase"):
        run += 1
        if case.find("failure") is not None:
            fail += 1
            failed.add(case.get("name", "?"))
        if case.find("error") is not None:
            err += 1
            failed.add(case.get("name", "?"))
        if case.find("skipped") is not None:
            skip += 1
    return (run, fail, err, skip), frozenset(failed)


def clean_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MEMTYPE_", "PYTHON")) and k != "LD_PRELOAD"}
    env["PYTHONMALLOC"] = "malloc"
    env["LC_ALL"] = env.get("LC_ALL") or "C.UTF-8"
    return env


def read_dumps(run, dump_dir, dumpmod):
    if dumpmod is None or not os.path.isdir(dump_dir):
        return
    for name in sorted(os.listdir(dump_dir)):
        path = os.path.join(dump_dir, name)
        try:
            d = dumpmod.load(path)
        except dumpmod.DumpError:
            run.bad_dumps += 1
            continue
        run.dumps += 1
        if d.reason == "fatal signal":
            run.fatal_dumps += 1
        if d.errors_total:
            run.heap_errors += d.errors_total
            run.error_dumps.append(path)
        if d.leaks:
            for kind, (b, n) in d.leaks.totals.items():
                acc = run.leaks.setdefault(kind, [0, 0])
                acc[0] += b
                acc[1] += n
        if d.guard:
            run.guarded += sum(g for g, _ in d.guard.values())


def run_module(module, extra, mode, args, workdir, lib, dumpmod):
    """One run of one module in its own empty directory (also its TMPDIR)."""
    if os.path.exists(workdir):
        shutil.rmtree(workdir, ignore_errors=True)
    cwd = os.path.join(workdir, "cwd")
    tmp = os.path.join(workdir, "tmp")
    dumps = os.path.join(workdir, "dumps")
    for d in (cwd, tmp, dumps):
        os.makedirs(d)
    # Some tests run children as another user (test_subprocess's user= and
    # group= tests): they too must be able to write their dump.
    os.chmod(dumps, 0o1777)
    xml = os.path.join(workdir, "junit.xml")
    env = clean_env()
    env["TMPDIR"] = tmp
    if mode == "memtype":
        env.update(CHECKS)
        env["LD_PRELOAD"] = lib
        env["MEMTYPE_OUTPUT"] = os.path.join(dumps, "%e.%p.mtd")
        if args.on_error:
            env["MEMTYPE_ON_ERROR"] = args.on_error
        for kv in args.set or []:
            k, _, v = kv.partition("=")
            env[k] = v
    cmd = [PYTHON, "-m", "test", "--junit-xml", xml, "--timeout", str(args.timeout),
           "-u", args.use] + extra + [module]
    r = Run()
    t0 = time.monotonic()
    timed_out = False
    with open(os.path.join(workdir, "output.txt"), "w+b") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            # regrtest's own --timeout dumps the stacks and exits; this is the backstop.
            r.rc = proc.wait(timeout=args.timeout + 120)
        except subprocess.TimeoutExpired:
            timed_out = True
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            r.rc = proc.wait()
        except BaseException:  # interrupted: take the module's processes along
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            raise
        # What the module left running in the session: stop it.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        r.seconds = time.monotonic() - t0
        out.seek(0)
        r.output = out.read().decode("utf-8", "replace")
    # regrtest's own timeout: "Timeout (0:15:00)!" and exit status 1
    if re.search(r"^Timeout \(\d+:\d\d:\d\d\)!", r.output, re.M) and "Tests result:" not in r.output[-20000:]:
        timed_out = True
    r.status = module_status(r.rc, r.output, timed_out)
    r.counts, r.failed = junit_counts(xml)
    for line in r.output.splitlines():
        if line.startswith(("memtype: ERROR", "memtype: warning", "memtype: error")) \
                or "memtype: ERROR" in line:
            r.findings.append(line.strip())
    if mode == "memtype":
        read_dumps(r, dumps, dumpmod)
    return r


# --- the whole list -------------------------------------------------------------

def fmt_time(s):
    return "%.0f s" % s if s >= 10 else "%.1f s" % s


def leak_text(r):
    d = r.leaks.get("definitely lost", [0, 0])
    i = r.leaks.get("indirectly lost", [0, 0])
    return "%d/%d" % (d[1], i[1])


def main(argv):
    ap = argparse.ArgumentParser(description="CPython's regression tests with and without memtype")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--lib", help="libmemtype.so")
    g.add_argument("--build", help="a build directory (its lib/libmemtype.so)")
    ap.add_argument("--modules", default=os.path.join(HERE, "modules.txt"))
    ap.add_argument("--only", help="comma-separated modules instead of the list")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per run (default 900)")
    ap.add_argument("--use", default=DEFAULT_USE, help="regrtest -u resources")
    ap.add_argument("--out", help="keep the runs in this directory")
    ap.add_argument("--keep", action="store_true", help="keep the temp directory")
    ap.add_argument("--no-rerun", action="store_true", help="no second try for a differing module")
    ap.add_argument("--no-install", action="store_true", help="never apt-get the test suite")
    ap.add_argument("--markdown", help="write the result table here (Markdown)")
    ap.add_argument("--on-error", help="MEMTYPE_ON_ERROR for the memtype runs")
    ap.add_argument("--set", action="append", metavar="MEMTYPE_X=VALUE",
                    help="one more variable for the memtype runs (repeatable)")
    args = ap.parse_args(argv)
    # Started in the background by a shell, we would pass SIGINT ignored to the
    # tests (test_threading's interrupt_main tests fail then): give them the default.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)

    lib = args.lib or os.path.join(args.build or os.path.join(ROOT, "build"), "lib", "libmemtype.so")
    lib = os.path.abspath(lib)
    if not os.path.isfile(lib):
        print("error: %s: no such library (build memtype, or give --lib / --build)" % lib,
              file=sys.stderr)
        return 2
    version = ensure_suite(not args.no_install)
    if version is None:
        return SKIP
    if args.only:
        listed = dict(read_modules(args.modules)) if os.path.isfile(args.modules) else {}
        modules = [(m, listed.get(m, [])) for m in args.only.split(",")]
    else:
        modules = read_modules(args.modules)
    missing = [m for m, _ in modules if not (
        os.path.isfile("/usr/lib/python%s/test/%s.py" % (version, m))
        or os.path.isdir("/usr/lib/python%s/test/%s" % (version, m)))]
    if missing:
        print("error: not in CPython %s's test suite: %s" % (version, " ".join(missing)),
              file=sys.stderr)
        return 2

    sys.path.insert(0, os.path.join(ROOT, "report"))
    try:
        from memtype_report import dump as dumpmod
    except ImportError:
        dumpmod = None
        log("note: %s/report not found: the dumps are not read" % ROOT)

    base = os.path.abspath(args.out) if args.out else tempfile.mkdtemp(prefix="memtype-cpython.")
    os.makedirs(base, exist_ok=True)
    log("CPython %s test suite, %d modules, Python %s; preload %s; runs in %s" % (
        version, len(modules), PYTHON, lib, base))
    log("memtype runs: LD_PRELOAD=%s PYTHONMALLOC=malloc %s" % (
        lib, " ".join("%s=%s" % kv for kv in CHECKS.items())))
    started = time.time()
    rows = []
    for i, (module, extra) in enumerate(modules, 1):
        runs = {}
        for mode in ("plain", "memtype"):
            runs[mode] = run_module(module, extra, mode, args, os.path.join(base, module, mode), lib,
                                    dumpmod)
        p, m = runs["plain"], runs["memtype"]
        note = ""
        same = p.key() == m.key()
        if not same:
            for name in sorted(p.failed - m.failed):
                log("    failed plain only: " + name)
            for name in sorted(m.failed - p.failed):
                log("    failed under memtype only: " + name)
        if not same and not args.no_rerun:
            log("  %s differs (%s | %s): running it again in both modes" % (
                module, p.result_text(), m.result_text()))
            p2 = run_module(module, extra, "plain", args, os.path.join(base, module, "plain.2"), lib,
                            dumpmod)
            m2 = run_module(module, extra, "memtype", args, os.path.join(base, module, "memtype.2"),
                            lib, dumpmod)
            if p2.key() == m2.key():
                same = True
                note = "differed once (%s | %s), same on the second try" % (
                    p.result_text(), m.result_text())
                m2.findings = m.findings + m2.findings
                m2.heap_errors += m.heap_errors
                m2.error_dumps = m.error_dumps + m2.error_dumps
                p, m = p2, m2
            else:
                note = "differed twice (second try: %s | %s)" % (p2.result_text(), m2.result_text())
                for name in sorted(m2.failed - p2.failed):
                    log("    failed under memtype only, second try: " + name)
        clean = same and not m.heap_errors and not m.findings
        rows.append((module, p, m, same, clean, note))
        log("[%d/%d] %-28s %-7s plain %-40s %7s | memtype %-40s %7s | %d procs, %d heap errors, "
            "leaks def/ind %s, %d guarded%s" % (
                i, len(modules), module, "same" if same else "DIFFERS", p.result_text(),
                fmt_time(p.seconds), m.result_text(), fmt_time(m.seconds), m.dumps,
                m.heap_errors, leak_text(m), m.guarded, ("; " + note) if note else ""))
        for line in m.findings[:10]:
            log("    finding: " + line)
        for path in m.error_dumps[:5]:
            log("    heap error recorded in " + path)
        if not args.out and not args.keep and clean:
            shutil.rmtree(os.path.join(base, module), ignore_errors=True)
        else:
            # The dumps of a clean run take room and say nothing more.
            for sub in ("plain", "memtype", "plain.2", "memtype.2"):
                dd = os.path.join(base, module, sub, "dumps")
                if clean and os.path.isdir(dd):
                    shutil.rmtree(dd, ignore_errors=True)

    n_same = sum(1 for r in rows if r[3])
    n_clean = sum(1 for r in rows if r[4])
    tp = sum(r[1].seconds for r in rows)
    tm = sum(r[2].seconds for r in rows)
    procs = sum(r[2].dumps for r in rows)
    errs = sum(r[2].heap_errors for r in rows)
    cases = sum((r[2].counts or (0,))[0] for r in rows)
    log("")
    log("%-28s %6s  %-40s %-40s %8s %8s" % ("module", "tests", "plain", "memtype", "t plain",
                                            "t memtype"))
    for module, p, m, same, clean, note in rows:
        log("%-28s %6s  %-40s %-40s %8s %8s%s" % (
            module, (m.counts or ("-",))[0], p.result_text(), m.result_text(),
            fmt_time(p.seconds), fmt_time(m.seconds), "" if same else "  DIFFERS"))
    log("")
    log("%d modules, %d with the same result with and without memtype, %d without heap "
        "errors or memtype messages; %d test cases; %d processes under memtype, %d heap errors; "
        "time %s plain, %s under memtype; wall %s" % (
            len(rows), n_same, n_clean, cases, procs, errs, fmt_time(tp), fmt_time(tm),
            fmt_time(time.time() - started)))
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("| module | tests run | result plain | result under memtype | time plain "
                    "| time memtype | processes | leaks (def./ind. blocks) | guarded blocks |\n")
            f.write("|---|---:|---|---|---:|---:|---:|---:|---:|\n")
            for module, p, m, same, clean, note in rows:
                f.write("| %s | %s | %s | %s%s | %s | %s | %d | %s | %d |\n" % (
                    module, (m.counts or ("-",))[0], p.result_text(), m.result_text(),
                    "" if same else " **(differs)**", fmt_time(p.seconds), fmt_time(m.seconds),
                    m.dumps, leak_text(m), m.guarded))
            f.write("\n%d modules; %d the same; %d test cases; %d processes under memtype; %d "
                    "heap errors; %s plain, %s under memtype; %s on %s (%d CPUs)\n" % (
                        len(rows), n_same, cases, procs, errs, fmt_time(tp), fmt_time(tm),
                        time.strftime("%Y-%m-%d"), platform.platform(), os.cpu_count() or 0))
            notes = [(r[0], r[5]) for r in rows if r[5]]
            for module, note in notes:
                f.write("\n- %s: %s" % (module, note))
            if notes:
                f.write("\n")
    if not args.out and not args.keep and n_clean == len(rows):
        shutil.rmtree(base, ignore_errors=True)
    elif not args.out:
        log("runs kept in %s" % base)
    return 0 if n_clean == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

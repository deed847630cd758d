"""`memtype run [flags] -- PROGRAM [ARGS...]`: the program under libmemtype,
then the run's summary from its dumps."""
import argparse
import os
import signal
import subprocess
import sys

from .. import dump as dumpmod
from .. import symbolize
from ..dump import program_name
from ..forms import human_k as _human_k
from ..forms.errors import print_errors
from ..forms.leaks import print_leaks
from ..model import errors_of, leaks_of


# `memtype run`'s defaults: the mode that finds bugs (DESIGN.md, "The user's
# interface"): every heap check (trash and verify, redzones, the quarantine),
# guard pages for every allocation within memguard's budget (MEMTYPE_GUARD_COST,
# _RSS, _DIVISOR: a small program is guarded whole, a big one's guarding stays
# bounded in time and memory), the leak scan, each block's allocation and free
# stacks (MEMTYPE_STACK_DEPTH's default, 16 frames), and going on after an error
# so that one run reports every bug, each block once, with the pools that
# programs keep inside malloc's blocks (CPython's pymalloc, GLib's slices,
# PHP's memory manager) bypassed, so that each object is a block memtype checks
# (MEMTYPE_BYPASS_POOLS: their own variables, set where the user did not). The user's environment
# and the flags win over these. --profile takes none of them: types and
# statistics only, what plain LD_PRELOAD with no variable gives, plus the table
# at exit. bench/run_bench.py measures this dict (tool memtype-run).
FIND_BUGS = {
    "MEMTYPE_TRASH": "1",
    "MEMTYPE_REDZONE": "1",
    "MEMTYPE_GUARD": "*",
    "MEMTYPE_LEAKS": "1",
    "MEMTYPE_STACK_DEPTH": "16",
    "MEMTYPE_ON_ERROR": "continue",
    "MEMTYPE_BYPASS_POOLS": "1",
}
PROFILE = {
    "MEMTYPE_STATS": "1",
}


def mode_env(profile):
    """The variables `memtype run` sets unless the user did: FIND_BUGS by
    default, PROFILE with --profile."""
    return dict(PROFILE if profile else FIND_BUGS)


# The options whose value is a file to read or write: completed as files.
FILE_OPTIONS = ("MEMTYPE_SUPPRESS", "MEMTYPE_OUTPUT", "MEMTYPE_LOG")


def parser(rows):
    p = argparse.ArgumentParser(prog="memtype run", add_help=True,
                                description="Run a program under libmemtype.")
    for o in rows:
        flags = [o.flag]
        if o.flag.startswith("--failure-"):  # the short spelling: --fail-rate ...
            flags.append("--fail-" + o.flag[len("--failure-"):])
        flags += list(o.old_flags)
        old = " (%s: deprecated spelling)" % ", ".join(o.old_flags) if o.old_flags else ""
        if o.kind == "BOOL":
            p.add_argument(*flags, dest=o.field, nargs="?", const="1", default=None,
                           metavar="0|1", help=("%s (sets %s)%s" % (o.help, o.env, old)
                                                ).replace("%", "%%"))
        else:
            a = p.add_argument(*flags, dest=o.field, default=None,
                               metavar="|".join(o.values) if o.values and not o.more
                               else "VALUE",
                               help=("%s (sets %s)%s" % (o.help, o.env, old)).replace("%", "%%"))
            if o.values:
                a.complete_words = list(o.values)
            elif o.env in FILE_OPTIONS:
                a.complete = "file"
                a.metavar = "FILE"
    p.add_argument("--lib", default=None, metavar="FILE",
                   help="path of libmemtype.so to preload").complete = "file"
    p.add_argument("--profile", action="store_true",
                   help="types and statistics only (the low-cost mode of plain LD_PRELOAD), with "
                        "the type table at exit: no heap checks, guard pages or continuing after "
                        "an error, which the default mode turns on (%s)" % " ".join(
                            "%s=%s" % kv for kv in FIND_BUGS.items()))
    p.add_argument("--brief", action="store_true",
                   help="at the end, only the summary: not the full reports of the run's "
                        "errors and leaks, symbolized, that come before it")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- PROGRAM [ARGS...]")
    return p


def main(argv, lib_path, rows):
    p = parser(rows)
    args = p.parse_args(argv)
    command = args.command
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        p.error("no program given: memtype run [flags] -- PROGRAM [ARGS...]")
    lib = os.path.abspath(args.lib or lib_path)
    if not os.path.isfile(lib):
        print("memtype: error: %s: no such library; build it first (cmake --build build) "
              "or name it with --lib or MEMTYPE_LIB" % lib, file=sys.stderr)
        return 2
    env = dict(os.environ)
    preload = env.get("LD_PRELOAD", "")
    env["LD_PRELOAD"] = lib + (" " + preload if preload else "")
    for k, v in mode_env(args.profile).items():
        env.setdefault(k, v)
    for o in rows:
        v = getattr(args, o.field)
        if v is not None:
            env[o.env] = v
    import glob
    import time
    from .. import target
    # This run's dumps: every process of the tree writes one (the default
    # of plain LD_PRELOAD is the top process only), each carries the run's
    # identity, and the summary lists those carrying it and no other. They
    # go to a directory of this run's own unless the user named a path
    # (absolute, so that a process that changes directory writes there too).
    # An identity inherited from the environment (a run inside a run) is
    # not this run's: only --run names one.
    run_id = args.run or "%d.%d" % (os.getpid(), time.time_ns())
    env["MEMTYPE_RUN"] = run_id
    env.setdefault("MEMTYPE_DUMP_CHILDREN", "1")
    # ... and memtype stays in every process of the tree, those started
    # with an environment of their own making (env -i, env=...) too
    env.setdefault("MEMTYPE_FOLLOW_EXEC", "1")
    run_dir = None
    output = env.get("MEMTYPE_OUTPUT")
    if output is None:
        run_dir = make_run_dir(os.path.basename(command[0]))
        output = os.path.join(run_dir, "%e.%p.mtd") if run_dir else "off"
    if output and output != "off" and not os.path.isabs(output):
        output = os.path.join(os.getcwd(), output)
    env["MEMTYPE_OUTPUT"] = output
    try:
        why = target.cannot_enter(command[0], env, lib)
    except Exception:  # a look before the run must never stop it
        why = None
    if why:
        print("memtype: warning: " + why, file=sys.stderr)
    started = time.time()
    # While the program runs: Ctrl-C and Ctrl-\ reach it through the
    # terminal's process group, so this command lets them pass and waits to
    # print the summary; SIGTERM and SIGHUP sent to this command go on to it.
    # All set before it starts (a Python handler is not inherited across
    # exec, so the program starts with the defaults); a signal ignored, as
    # under nohup or in a background job, stays ignored for both.
    # A signal that comes while the program is being started (it may be
    # running already: Popen returns only when it has seen the exec) is kept
    # and sent on as soon as Popen returns; if the program could not start,
    # this command dies of it.
    child, pending = [], []

    def forward(sig, _frame):
        if not child:
            pending.append(sig)
            return
        try:
            child[0].send_signal(sig)
        except OSError:
            pass
    old = {}
    for sig, how in ((signal.SIGTERM, forward), (signal.SIGHUP, forward),
                     (signal.SIGINT, lambda _s, _f: None), (signal.SIGQUIT, lambda _s, _f: None)):
        if signal.getsignal(sig) != signal.SIG_IGN:
            old[sig] = signal.signal(sig, how)
    # A process of the tree that outlives the program (Python's
    # multiprocessing resource tracker, a shell's background job) writes its
    # dump when it ends, after the program: as the tree's subreaper this
    # command is told of it and waits for it (ORPHAN_WAIT at most) before
    # the summary, which listed the dumps written before the program ended.
    reaper = become_subreaper()
    try:
        proc = subprocess.Popen(command, env=env)
    except OSError as e:
        for sig, how in old.items():
            signal.signal(sig, how)
        print("memtype: error: cannot run %s: %s" % (command[0], e.strerror), file=sys.stderr)
        for sig in pending[:1]:  # asked to end before there was a program: end
            signal.signal(sig, signal.SIG_DFL)
            os.kill(os.getpid(), sig)
        return 127
    child.append(proc)
    for sig in pending:
        try:
            proc.send_signal(sig)
        except OSError:
            pass
    rc = wait_tree(proc, reaper)
    try:
        run_summary(output, started, glob, env.get("MEMTYPE_LOG", ""), said_why=bool(why),
                    run_id=run_id, run_dir=run_dir, top=(proc.pid, rc, command[0]),
                    reports=not args.brief)
    except Exception as e:  # a summary must never change how the run ends
        print("memtype: no run summary: %s" % e, file=sys.stderr)
    for sig, how in old.items():
        signal.signal(sig, how)
    if rc < 0:
        # Die the way the program died, so callers see the same status.
        sig = -rc
        if sig not in (signal.SIGKILL, signal.SIGSTOP):  # those two have no handler to reset
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        return 128 + sig
    return rc


ORPHAN_WAIT = 10.0  # seconds the summary waits for the tree's processes that outlive the top


def become_subreaper():
    """Makes this command the subreaper of the tree it starts (Linux
    PR_SET_CHILD_SUBREAPER): a process whose parent ends is reparented here,
    not to init, so the run knows when it ends. False when it cannot."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except Exception:  # no prctl: the summary does not wait for orphans
        return False


def wait_tree(proc, reaper):
    """Waits for the program (its status as Popen's returncode); as the
    subreaper, reaps the orphans of its tree as they end (no zombie left
    behind), then waits up to ORPHAN_WAIT for those still running, whose
    dumps the summary would otherwise miss, and names any it gave up on."""
    import time
    rc = None
    while rc is None:
        try:
            if not reaper:
                rc = proc.wait()
                break
            pid, status = os.waitpid(-1, 0)
            if pid == proc.pid:
                rc = proc.returncode = os.waitstatus_to_exitcode(status)
        except ChildProcessError:
            rc = proc.wait()
        except KeyboardInterrupt:
            continue  # the child got the SIGINT too; wait for it
    if not reaper:
        return rc
    deadline = time.monotonic() + ORPHAN_WAIT
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break  # none left
        except KeyboardInterrupt:
            break
        if pid:
            continue
        if time.monotonic() >= deadline:
            left = sorted(int(p) for p in _children_of(os.getpid()))
            one = len(left) == 1
            print("memtype: %d process%s of the run still running %d s after the program "
                  "ended (%s): not in this summary; %s when %s" % (
                      len(left), "" if one else "es", ORPHAN_WAIT,
                      ", ".join("pid %d" % p for p in left),
                      "its dump is written" if one else "their dumps are written",
                      "it ends" if one else "they end"), file=sys.stderr)
            break
        try:
            time.sleep(0.02)
        except KeyboardInterrupt:
            break
    return rc


def _children_of(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return f.read().split()
    except OSError:
        return []


def make_run_dir(prog):
    """A new directory for a run's dumps in the working directory:
    memtype-run.PROG.N with the first N free (mkdir is atomic: two runs side
    by side get two). Where the working directory is not writable, one under
    the temporary directory. None when neither can be made.

    Run by root, the directory is open to every user, sticky (as /tmp is):
    a server started as root whose workers change
    user (nginx's, redis's or postgres's under setpriv) writes their dumps
    there; a 0700 directory made each one fail with EACCES and lost the
    workers' dumps and reports. A dump is created O_EXCL|O_NOFOLLOW, mode
    0600, so no user can make another's process write through a link or
    over a file. (The working directory must be reachable by the workers'
    user too: not so under a 0700 home, where they still write none.)"""
    import tempfile
    prog = "".join(c if c.isalnum() or c in "-_+" else "_" for c in prog) or "prog"
    shared = os.geteuid() == 0
    d = None
    for n in range(1, 10000):
        cand = os.path.join(os.getcwd(), "memtype-run.%s.%d" % (prog, n))
        try:
            os.mkdir(cand, 0o700)
            d = cand
            break
        except FileExistsError:
            continue
        except OSError:
            break
    if d is None:
        try:
            d = tempfile.mkdtemp(prefix="memtype-run.%s." % prog)
        except OSError as e:
            print("memtype: warning: no directory for the run's dumps (%s): none written"
                  % (e.strerror or e), file=sys.stderr)
            return None
    if shared:
        try:
            os.chmod(d, 0o1777)
        except OSError:
            pass
    return d


def _template_glob(tmpl):
    return tmpl.replace("%%", "\0").replace("%p", "*").replace("%e", "*").replace("\0", "%")


def _recent(glob, pattern, started):
    return sorted(f for f in glob.glob(pattern) if os.path.getmtime(f) >= started - 1)


def print_logs(output, started, glob, log, out):
    """The reports processes wrote to a file rather than stderr: their
    stderr was closed or pointed elsewhere (<dump>.log files, printed here
    since no one else will), or MEMTYPE_LOG named the file (its name)."""
    if log:
        files = _recent(glob, _template_glob(log), started)
        if files:
            print("memtype: reports in %s (MEMTYPE_LOG)" % " ".join(files), file=out)
    if not output or output == "off":
        return
    for f in _recent(glob, _template_glob(output) + ".log", started):
        try:
            with open(f, errors="replace") as fh:
                lines = fh.read().splitlines()
        except OSError:
            continue
        print("memtype: %s (reports written there: the process's stderr was closed or no "
              "longer the one it started with):" % f, file=out)
        for line in lines[:400]:
            print(line, file=out)
        if len(lines) > 400:
            print("memtype: ... %d more lines in %s" % (len(lines) - 400, f), file=out)


def _name(d):
    return "%s (pid %d)" % (program_name(d), d.pid)


def _how(d):
    return str(d.ending) if d.ending else "ended in a way an older memtype did not record"


def wait_status_text(rc):
    """The program's end as the parent saw it (Popen's returncode)."""
    if rc < 0:
        return "killed by %s" % dumpmod.SIGNAL_NAMES.get(-rc, "signal %d" % -rc)
    return "exit status %d" % rc


def endings_line(dumps, extra=()):
    """How each process ended, in one line: every one when there are few,
    else the counts and the ones that did not exit with status 0. extra:
    (name, how) of processes that left no dump."""
    ends = [(_name(d), _how(d)) for d in dumps] + list(extra)
    if len(ends) <= 6:
        return "memtype: ended: " + "; ".join("%s %s" % e for e in ends)
    counts = {}
    for _, how in ends:
        counts[how] = counts.get(how, 0) + 1
    odd = [e for e in ends if e[1] != "exit status 0"]
    text = "memtype: ended: " + ", ".join("%d %s" % (n, h) for h, n in
                                         sorted(counts.items(), key=lambda x: -x[1]))
    if odd:
        text += "; " + "; ".join("%s %s" % e for e in odd[:6])
        if len(odd) > 6:
            text += "; ..."
    return text


def run_dumps(output, glob, run_id, started):
    """The dumps this run wrote: under the output template, carrying the
    run's identity (MEMTYPE_RUN); a dump of another run, or of none, at the
    same place is not this run's. Without an identity (a caller of old),
    the ones written since the run started."""
    pattern = _template_glob(output)
    files = sorted(glob.glob(pattern)) if run_id else _recent(glob, pattern, started)
    dumps = []
    for f in files:
        try:
            d = dumpmod.load(f)
        except dumpmod.DumpError:
            continue
        if not run_id or d.run == run_id:
            dumps.append(d)
    return dumps


RUN_REPORTS = 4  # processes whose full reports `memtype run` prints at the end


def symbolize_all(d):
    """Every address the end of the run shows for dump d (its errors' and
    leaks' stacks, its types' call sites), symbolized in one batch per
    module, so that the reports and the summary that follow find them
    cached: one symbolizer process per module, not one per report (each
    loads the module's debug information again, a second or more for libc)."""
    pcs = {pc for t in d.types for pc in t.pcs}
    for e in d.errors:
        pcs.update(e.sym_frames + [e.free_pc] + e.alloc_stack + e.free_stack)
    for r in (d.leaks.records if d.leaks else []):
        pcs.update(r.stack)
    pcs.discard(0)
    symbolize.frames(d, sorted(pcs))


def print_run_reports(dumps, out):
    """The full reports of a run, symbolized (file:line, demangled), before
    its summary: the heap errors, then the leaks with their stacks, of the
    first RUN_REPORTS processes that have any."""
    import contextlib
    bad = [d for d in dumps if d.errors_total]
    leaky = [d for d in dumps if d.leaks and any(r.kind != "still reachable"
                                                 for r in d.leaks.records)]
    sys.stdout.flush()
    for d in {id(d): d for d in bad[:RUN_REPORTS] + leaky[:RUN_REPORTS]}.values():
        symbolize_all(d)
    with contextlib.redirect_stdout(out):
        for what, ds, flag, printer in (
                ("heap errors", bad, "errors", lambda d: print_errors(errors_of(d, lines=0))),
                ("leaks", leaky, "leaks", lambda d: print_leaks(leaks_of(d)))):
            if not ds:
                continue
            for d in ds[:RUN_REPORTS]:
                printer(d)
            if len(ds) > RUN_REPORTS:
                print("memtype: %d more processes with %s: memtype report --%s on their dumps "
                      "(below)" % (len(ds) - RUN_REPORTS, what, flag))
    out.flush()


def run_summary(output, started, glob, log="", said_why=False, run_id="", run_dir=None,
                top=None, reports=False):
    """After `memtype run`: what the run's dumps say, in a few lines, and
    the command for the full report; one line when there is none (unless
    the warning before the run said already why memtype was not inside).
    top: (pid, Popen returncode, command) of the program the run started:
    its end as its parent saw it, which no dump may hide (SIGKILL leaves
    none)."""
    print_logs(output, started, glob, log, sys.stderr)
    if not output or output == "off":
        return
    dumps = run_dumps(output, glob, run_id, started)
    out = sys.stderr
    extra = []
    if top and not any(d.pid == top[0] for d in dumps):
        extra.append(("%s (pid %d)" % (os.path.basename(top[2]), top[0]),
                      wait_status_text(top[1]) + ", no dump"))
    if run_dir and not dumps:
        try:
            os.rmdir(run_dir)  # left empty: nothing to keep
        except OSError:
            pass
    if not dumps:
        if not said_why:
            print("memtype: run summary: no process of the run wrote a dump%s: memtype was "
                  "inside none of them, or none of them reached its end" % (
                      "" if run_dir else " (%s, from %s)" % (output, os.getcwd())), file=out)
        if top and top[1] < 0:  # killed: SIGKILL leaves no dump, yet it is how the run ended
            print(endings_line([], extra), file=out)
        return
    if reports:
        print_run_reports(dumps, out)
    # A server tree is dozens of processes of a few programs: each program
    # once, with its count.
    count = {}
    for d in dumps:
        k = program_name(d)
        count[k] = count.get(k, 0) + 1
    if extra:  # the program the run started, without a dump
        k = os.path.basename(top[2])
        count[k] = count.get(k, 0) + 1
    progs = ["%s x%d" % (k, n) if n > 1 else k for k, n in sorted(count.items())]
    errors = sum(d.errors_total for d in dumps)
    # A process that died of a signal is not a clean one, whatever its
    # heap error count says: the headline says how many, and of what.
    died = {}
    for d in dumps:
        if d.ending and d.ending.how == "signal":
            sig = dumpmod.SIGNAL_NAMES.get(d.ending.signal, "signal %d" % d.ending.signal)
            died[sig] = died.get(sig, 0) + 1
    if top and top[1] < 0 and not any(d.pid == top[0] for d in dumps):
        sig = dumpmod.SIGNAL_NAMES.get(-top[1], "signal %d" % -top[1])
        died[sig] = died.get(sig, 0) + 1
    lost = {}
    for d in dumps:
        for k, (b, n) in (d.leaks.totals.items() if d.leaks else []):
            if k != "still reachable" and n:
                ob, on = lost.get(k, (0, 0))
                lost[k] = (ob + b, on + n)
    # The three types with most memory in use, symbolized alone (fast). A
    # type of several processes of one program (cc1 run 13 times by make)
    # is one: its call site as module and offset, the bytes summed.
    by_site = {}
    for d in dumps:
        for t in d.types:
            if t.in_use_bytes <= 0:
                continue
            m = d.module_of(t.pcs[0]) if t.pcs and not t.name else None
            key = (t.name if t.name else (m.path, t.pcs[0] - m.base) if m
                   else (id(d), t.pcs[0] if t.pcs else None))
            mem, first_d, first_t, procs = by_site.get(key, (0, d, t, 0))
            by_site[key] = (mem + t.in_use_bytes, first_d, first_t, procs + 1)
    top_types = sorted(by_site.values(), key=lambda x: -x[0])[:3]
    named = {}  # one symbolizer batch per dump (each spawn loads a module's debug information)
    for d in {id(d): d for _, d, t, _ in top_types if not t.name and t.pcs}.values():
        named.update(symbolize.names(d, [t.pcs[0] for _, e, t, _ in top_types
                                         if e is d and not t.name and t.pcs]))
    labels = ["%s %s%s" % (t.name or (named.get(t.pcs[0]) if t.pcs else "(untyped)"), _human_k(mem),
                           " in %d processes" % procs if procs > 1 else "")
              for mem, d, t, procs in top_types]
    nproc = len(dumps) + len(extra)
    print("memtype: run summary: %d process%s (%s); %d heap error%s; %s%s" % (
        nproc, "" if nproc == 1 else "es", ", ".join(progs), errors,
        "" if errors == 1 else "s",
        "".join("%d killed by %s; " % (n, sig) for sig, n in sorted(died.items())),
        "leaks: " + ", ".join("%s %d bytes in %d blocks" % (k, b, n) for k, (b, n) in lost.items())
        if lost else "no leaks"), file=out)
    print(endings_line(dumps, extra), file=out)
    guard = [d for d in dumps if d.guard is not None]
    if guard:
        # Coverage: the share of the run's allocations placed on guard pages.
        g = sum(d.guard_coverage()[0] for d in guard)
        n = sum(d.guard_coverage()[1] for d in guard)
        methods = sorted({d.guard_method for d in guard if d.guard_method})
        cheap = [d.guard_overflow_only() for d in guard]
        kinds = "" if None in cheap else ": %d full, %d overflow-only" % (g - sum(cheap), sum(cheap))
        print("memtype: guard pages: %d of %d allocations guarded (%.1f%%%s)%s" % (
            g, n, 100.0 * g / n if n else 0.0, kinds,
            "; made by " + " and ".join(methods) if methods else ""), file=out)
    if labels:
        print("memtype: most memory in use at exit: " + "; ".join(labels), file=out)
    here = os.getcwd() + os.sep

    def short(f):  # the dumps in the working directory by their names
        return f[len(here):] if f.startswith(here) else f
    files = [short(d.path) for d in sorted(dumps, key=lambda d: d.path)]
    pattern = os.path.join(run_dir, "*.mtd") if run_dir else _template_glob(output)
    if len(files) <= 4:
        print("memtype: dumps%s: %s; full report: memtype report --leaks --errors --table %s" % (
            " of this run in %s%s" % (short(run_dir), os.sep) if run_dir else "",
            " ".join(os.path.basename(f) if run_dir else f for f in files), " ".join(files)),
            file=out)
    elif run_dir or len(glob.glob(pattern)) == len(files):
        # Too many to name, and no other run's under the pattern: where they
        # are, and the one table of the tree.
        print("memtype: dumps: %d in %s (%s); full report: memtype report --leaks --errors "
              "--table %s; the whole tree in one table: memtype report --table --merge %s" % (
                  len(files), os.path.dirname(pattern) or ".", os.path.basename(pattern),
                  short(pattern), short(pattern)), file=out)
    else:
        # The pattern holds other runs' dumps too: this run's by name.
        print("memtype: dumps: %d of this run among %d in %s; full report: memtype report "
              "--leaks --errors --table %s; the whole tree in one table: memtype report "
              "--table --merge %s" % (len(files), len(glob.glob(pattern)), short(pattern),
                                       " ".join(files), " ".join(files)), file=out)

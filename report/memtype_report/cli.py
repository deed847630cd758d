"""The `memtype` command: `memtype run [flags] -- prog args`, `memtype options`."""
import argparse
import os
import signal
import subprocess
import sys

from . import dump as dumpmod
from . import formats
from . import live as livemod
from . import options as opts
from . import symbolize

USAGE = """memtype - a malloc debugger for unmodified programs

  memtype run [flags] -- PROGRAM [ARGS...]   run PROGRAM with libmemtype preloaded
                                             and print memtype's summary at exit
  memtype report [--table] FILE...           the vmstat -m table of one or more dumps
                                             (a process tree's dumps merge into one)
  memtype report --failures FILE...          the injected allocation failures, with stacks
  memtype report --errors FILE...            the heap errors reported, with stacks
  memtype report --leaks FILE...             the leaks found at exit, biggest first
  memtype report --json FILE...              everything, as JSON (docs/report-json.md)
  memtype report --folded [--weight W] FILE... folded stacks for flame graphs, weighted
                                             by bytes (allocated), allocs, inuse or leaks
  memtype report --html OUT FILE...          one self-contained page: tables and charts
  memtype diff A B                           per-type growth from dump A to dump B
  memtype sweep [flags] -- PROGRAM [ARGS...] rerun PROGRAM failing its 1st, 2nd, ... Nth
                                             eligible allocation; list the runs that crashed
  memtype stat PID                           the vmstat -m table of a running process
  memtype top PID [--interval S]             the same, refreshed (growth highlighted)
                                             (both need MEMTYPE_LIVE=1 in that process)
  memtype options [--markdown]               every MEMTYPE_* variable, default, meaning
  memtype completion bash                    the bash completion script of this command
  memtype --version                          the version of memtype

Every `run` flag sets one MEMTYPE_* variable (see `memtype options`); the same
variables work with LD_PRELOAD=libmemtype.so directly.
"""


def build_run_parser(rows):
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
    p.add_argument("--lib", default=None, metavar="FILE",
                   help="path of libmemtype.so to preload").complete = "file"
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- PROGRAM [ARGS...]")
    return p


def cmd_run(argv, lib_path, rows):
    p = build_run_parser(rows)
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
    env.setdefault("MEMTYPE_STATS", "1")
    for o in rows:
        v = getattr(args, o.field)
        if v is not None:
            env[o.env] = v
    import glob
    import time
    from . import target
    # Dumps go where the run started, even from processes that change
    # directory (servers do: postgres to its data directory), so that the
    # run summary finds them all.
    output = env.get("MEMTYPE_OUTPUT", "memtype.%e.%p.mtd")
    if output and output != "off" and not os.path.isabs(output):
        env["MEMTYPE_OUTPUT"] = os.path.join(os.getcwd(), output)
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
    while True:
        try:
            rc = proc.wait()
            break
        except KeyboardInterrupt:
            continue  # the child got the SIGINT too; wait for it
    try:
        run_summary(env.get("MEMTYPE_OUTPUT", "memtype.%e.%p.mtd"), started, glob,
                    env.get("MEMTYPE_LOG", ""), said_why=bool(why))
    except Exception as e:  # a summary must never change how the run ends
        print("memtype: no run summary: %s" % e, file=sys.stderr)
    for sig, how in old.items():
        signal.signal(sig, how)
    if rc < 0:
        # Die the way the program died, so callers see the same status.
        sig = -rc
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        return 128 + sig
    return rc


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


def endings_line(dumps):
    """How each process ended, in one line: every one when there are few,
    else the counts and the ones that did not exit with status 0."""
    def name(d):
        return "%s (pid %d)" % (os.path.basename(d.exe) or "?", d.pid)

    def how(d):
        return str(d.ending) if d.ending else "ended in a way an older memtype did not record"
    if len(dumps) <= 6:
        return "memtype: ended: " + "; ".join("%s %s" % (name(d), how(d)) for d in dumps)
    counts = {}
    for d in dumps:
        counts[how(d)] = counts.get(how(d), 0) + 1
    odd = [d for d in dumps if how(d) != "exit status 0"]
    text = "memtype: ended: " + ", ".join("%d %s" % (n, h) for h, n in
                                         sorted(counts.items(), key=lambda x: -x[1]))
    if odd:
        text += "; " + "; ".join("%s %s" % (name(d), how(d)) for d in odd[:6])
        if len(odd) > 6:
            text += "; ..."
    return text


def run_summary(output, started, glob, log="", said_why=False):
    """After `memtype run`: what the run's dumps say, in a few lines, and
    the command for the full report; one line when there is none (unless
    the warning before the run said already why memtype was not inside)."""
    print_logs(output, started, glob, log, sys.stderr)
    if not output or output == "off":
        return
    pattern = _template_glob(output)
    files = _recent(glob, pattern, started)
    dumps = []
    for f in files:
        try:
            dumps.append(dumpmod.load(f))
        except dumpmod.DumpError:
            continue
    if not dumps:
        if not said_why:
            print("memtype: run summary: no process of the run wrote a dump (%s, from %s): "
                  "memtype was inside none of them, or none of them reached its end" % (
                      output, os.getcwd()), file=sys.stderr)
        return
    # A server tree is dozens of processes of a few programs: each program
    # once, with its count.
    count = {}
    for d in dumps:
        k = os.path.basename(d.exe) or "?"
        count[k] = count.get(k, 0) + 1
    progs = ["%s x%d" % (k, n) if n > 1 else k for k, n in sorted(count.items())]
    errors = sum(d.errors_total for d in dumps)
    lost = {}
    for d in dumps:
        for k, (b, n) in (d.leaks.totals.items() if d.leaks else []):
            if k != "still reachable" and n:
                ob, on = lost.get(k, (0, 0))
                lost[k] = (ob + b, on + n)
    top = []  # the three types with most memory in use, symbolized alone (fast)
    for d in dumps:
        for t in d.types:
            top.append((t.in_use_bytes, d, t))
    top.sort(key=lambda x: -x[0])
    labels = []
    for mem, d, t in top[:3]:
        if mem <= 0:
            break
        label = t.name or (symbolize.names(d, t.pcs[:1]).get(t.pcs[0]) if t.pcs else "(untyped)")
        labels.append("%s %s" % (label, _human_k(mem)))
    out = sys.stderr
    print("memtype: run summary: %d process%s (%s); %d heap error%s; %s" % (
        len(dumps), "" if len(dumps) == 1 else "es", ", ".join(progs), errors,
        "" if errors == 1 else "s",
        "leaks: " + ", ".join("%s %d bytes in %d blocks" % (k, b, n) for k, (b, n) in lost.items())
        if lost else "no leaks"), file=out)
    print(endings_line(dumps), file=out)
    if labels:
        print("memtype: most memory in use at exit: " + "; ".join(labels), file=out)
    here = os.getcwd() + os.sep

    def short(f):  # the dumps in the working directory by their names
        return f[len(here):] if f.startswith(here) else f
    files = [short(f) for f in files]
    if len(files) <= 4:
        print("memtype: dumps: %s; full report: memtype report --leaks --errors --table %s" % (
            " ".join(files), " ".join(files)), file=out)
    else:
        # Too many to name: where they are, and the one table of the tree.
        print("memtype: dumps: %d in %s (%s); full report: memtype report --leaks --errors "
              "--table %s; the whole tree in one table: memtype report --table --merge %s" % (
                  len(files), os.path.dirname(pattern) or ".", os.path.basename(pattern),
                  short(pattern), short(pattern)), file=out)


def build_diff_parser():
    p = argparse.ArgumentParser(prog="memtype diff",
                                description="Per-type growth between two dumps of one "
                                            "program (e.g. two taken with MEMTYPE_DUMP_SIGNAL).")
    p.add_argument("a", metavar="A", help="the earlier dump").complete = "dump"
    p.add_argument("b", metavar="B", help="the later dump").complete = "dump"
    p.add_argument("--lines", type=int, default=30, help="rows to show (default 30)")
    p.add_argument("--no-symbolize", action="store_true", help="show raw addresses")
    return p


def cmd_diff(argv):
    args = build_diff_parser().parse_args(argv)
    try:
        a, b = dumpmod.load(args.a), dumpmod.load(args.b)
    except dumpmod.DumpError as e:
        print("memtype: error: %s" % e, file=sys.stderr)
        return 2
    if os.path.basename(a.exe) != os.path.basename(b.exe):
        print("memtype: warning: the dumps are of two programs (%s, %s): types match by call "
              "site only" % (os.path.basename(a.exe), os.path.basename(b.exe)), file=sys.stderr)
    ra = {r["label"]: r for r in merge_types([a], args.no_symbolize)}
    rb = {r["label"]: r for r in merge_types([b], args.no_symbolize)}
    zero = {"allocs": 0, "inuse": 0, "mem": 0}
    rows = []
    for label in set(ra) | set(rb):
        x, y = ra.get(label, zero), rb.get(label, zero)
        ma, mb = x["mem"], y["mem"]
        rows.append((mb - ma, label, x["inuse"], y["inuse"], ma, mb, y["allocs"] - x["allocs"]))
    rows.sort(key=lambda r: (-r[0], r[1]))
    secs = (b.end_ns - a.end_ns) / 1e9 if a.end_ns and b.end_ns else 0
    print("memtype: growth of %s from pid %d (%s) to pid %d (%s)%s" % (
        os.path.basename(b.exe) or "?", a.pid, a.reason, b.pid, b.reason,
        ", %.1f s apart" % secs if secs > 0 else ""))
    width = max([20] + [min(100, len(r[1])) for r in rows[:args.lines]])
    print("%-*s %9s %9s %9s %9s %10s %10s" % (width, "Type", "InUse A", "InUse B", "MemUse A",
                                             "MemUse B", "Growth", "Requests+"))
    for g, label, ia, ib, ma, mb, req in rows[:args.lines]:
        print("%-*s %9d %9d %9s %9s %10s %10d" % (width, label[:width], ia, ib, _human_k(ma),
                                                 _human_k(mb), "%+dK" % (g // 1024) if g >= 0
                                                 else "-%dK" % ((-g) // 1024), req))
    total = sum(r[0] for r in rows)
    print("memtype: total growth %+d bytes over %d types" % (total, len(rows)))
    return 0


def _human_k(n):
    """A memory cell: bytes under 1 KiB exactly ("48B"), else KiB rounded up
    ("2K"); 0 is "0K". The table at exit says the same (core/stats.c)."""
    return "%dB" % n if 0 < n < 1024 else "%dK" % ((n + 1023) // 1024)


def build_report_parser():
    p = argparse.ArgumentParser(prog="memtype report",
                                description="Reports from memtype dump files.",
                                epilog="Exit status: 0; 2 when a file could not be read as "
                                       "a dump (each such file is named on stderr with what "
                                       "is wrong, and the others are still reported) or on "
                                       "a usage error. No output file is ever written over "
                                       "an input or over a dump.")
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="dump files (*.mtd)").complete = "dump"
    p.add_argument("--table", "--types", dest="types", action="store_true",
                   help="the vmstat -m table: Type, InUse, MemUse, HighUse, Requests, "
                        "Size(s) (and Fail when failures were injected); the default "
                        "(--types: deprecated spelling)")
    p.add_argument("--failures", action="store_true",
                   help="the injected allocation failures: thread, type, size, stack")
    p.add_argument("--errors", action="store_true",
                   help="the heap errors reported: kind, address, block, stacks")
    p.add_argument("--leaks", action="store_true",
                   help="the leak records of the exit scan, biggest first, with the "
                        "allocation stacks (--reachable adds the still-reachable ones)")
    p.add_argument("--waste", action="store_true",
                   help="MALLOC_PROFILE's table: requests by size rounded up to 16 bytes, "
                        "the size handed out, total memory used and wasted, overall and "
                        "per type")
    p.add_argument("--reachable", action="store_true",
                   help="with --leaks: list still-reachable records too")
    p.add_argument("--json", action="store_true",
                   help="everything in the dumps as one JSON document (schema: "
                        "docs/report-json.md); nothing else is printed")
    p.add_argument("--folded", action="store_true",
                   help="folded stacks (flamegraph.pl, speedscope, inferno), one line per "
                        "call-site stack, weighted as --weight says")
    p.add_argument("--weight", choices=formats.FOLDED_WEIGHTS, default="bytes",
                   help="with --folded: bytes allocated (default), allocs, inuse (bytes in "
                        "use at the dump) or leaks (bytes definitely, indirectly or "
                        "possibly lost)")
    p.add_argument("--html", metavar="OUT",
                   help="write one self-contained HTML page (sortable tables, charts of "
                        "the top types, the leaks and the errors) to OUT").complete = "file"
    p.add_argument("--merge", action="store_true",
                   help="one table for every process (default: one per program, its "
                        "processes merged)")
    p.add_argument("--lines", type=int, default=30, help="rows to show (default 30)")
    p.add_argument("--sort", choices=("memuse", "requests", "bytes"), default="memuse",
                   help="order: memory in use (default), allocations, or bytes allocated")
    p.add_argument("--no-symbolize", action="store_true", help="show raw addresses")
    p.add_argument("--frames", type=int, default=2,
                   help="frames of a deep type (MEMTYPE_DEPTH > 1) shown in its label, "
                        "innermost first (default 2)")
    return p


def load_dumps(files):
    """The dumps of files that read, and how many did not: each damaged one
    is named on one line of stderr, and the others are still reported."""
    dumps, bad = [], 0
    for f in files:
        try:
            dumps.append(dumpmod.load(f))
        except dumpmod.DumpError as e:
            print("memtype: error: %s" % e, file=sys.stderr)
            bad += 1
    if bad and dumps:
        print("memtype: %d of %d files could not be read; reporting the other %d"
              % (bad, len(files), len(dumps)), file=sys.stderr)
    return dumps, bad


def check_output(out, inputs):
    """Why out must not be written (None when it may): no command writes over
    one of its inputs, or over any memtype dump."""
    for f in inputs:
        try:
            same = os.path.samefile(out, f)
        except OSError:
            same = os.path.realpath(out) == os.path.realpath(f)
        if same:
            return "%s is one of the input files; name another output file" % out
    try:
        with open(out, "rb") as f:
            if f.read(len(dumpmod.MAGIC)) == dumpmod.MAGIC:
                return ("%s is a memtype dump; it is not overwritten (forgot the output "
                        "name? --html OUT.html FILE...)" % out)
    except OSError:
        pass
    return None


def write_output(out, text):
    """Writes text to out through a temporary file in its directory, renamed
    over out once whole: a failed write never leaves half a file. Returns an
    error message or None."""
    import tempfile
    d = os.path.dirname(os.path.abspath(out))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(out), suffix=".tmp", dir=d)
    except OSError as e:
        return "cannot write %s: %s" % (out, e.strerror or e)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # as open(out, "w") would make it
        os.replace(tmp, out)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return "cannot write %s: %s" % (out, e.strerror or e)
    return None


def _umask():
    m = os.umask(0)
    os.umask(m)
    return m


def cmd_report(argv):
    args = build_report_parser().parse_args(argv)
    if args.html:
        why = check_output(args.html, args.files)
        if why:
            print("memtype: error: %s" % why, file=sys.stderr)
            return 2
    dumps, bad = load_dumps(args.files)
    if not dumps:
        return 2
    status = 2 if bad else 0
    if args.json:
        import json
        json.dump(formats.to_json(dumps, args.no_symbolize), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return status
    if args.html:
        from . import html as htmlmod
        page = htmlmod.render(dumps, lambda g: merge_types(g, args.no_symbolize, args.frames),
                              args.no_symbolize)
        why = write_output(args.html, page)
        if why:
            print("memtype: error: %s" % why, file=sys.stderr)
            return 2
        print("memtype: wrote %s" % args.html)
        return status
    if args.folded:
        for line in formats.folded(dumps, args.weight, args.no_symbolize):
            print(line)
        return status
    if args.leaks:
        print_leaks(dumps, args.no_symbolize, args.lines, args.reachable)
    if args.errors:
        print_errors(dumps, args.no_symbolize, args.lines)
    if args.failures:
        print_failures(dumps, args.no_symbolize, args.lines)
    if args.waste:
        for group in [dumps] if args.merge else by_program(dumps, args.sort):
            print_waste(group, merge_types(group, args.no_symbolize, args.frames), args.lines)
    if not ((args.errors or args.failures or args.leaks or args.waste) and not args.types):
        for group in [dumps] if args.merge else by_program(dumps, args.sort):
            rows = merge_types(group, args.no_symbolize, args.frames, lazy=True)
            sort_rows(rows, args.sort)
            label_rows(rows, args.lines, args.frames)
            print_table(group, rows, args.lines)
    print_notes(dumps)
    return status


def print_waste(dumps, rows, lines=30):
    """MALLOC_PROFILE's waste table, then the totals (exact: bytes handed out
    minus bytes requested) overall and by type."""
    procs = ", ".join("%s (pid %d)" % (os.path.basename(d.exe) or "?", d.pid) for d in dumps)
    if all(d.waste is None for d in dumps):
        print("memtype: %s: no size profile in this dump (format 1.3 or later has one)" % procs)
        return
    table, large = formats.waste_rows(dumps)
    # A row holds the requests of size-15 .. size bytes (the dump counts them
    # by 16-byte bucket, not their bytes), so its waste is known between two
    # bounds: all of them size bytes, or all size-15. The totals and the
    # per-type table below are exact (bytes handed out minus bytes asked).
    print("memtype: requests by size in %s (rounded up to 16 bytes, as MALLOC_PROFILE; a "
          "row's waste lies between its two bounds, the totals below are exact)" % procs)
    print("%10s %12s %10s %14s %14s" % ("Size", "Requests", "Real size", "Waste from", "to"))
    for size, n, real in table:
        low = max(0, size - 15) if size else 0
        print("%10d %12d %10d %14d %14d" % (size, n, real, n * (real - size), n * (real - low)))
    if large[0]:
        print("%10s %12d %10s %14d %14d  (%d bytes asked, %d handed out)" % (
            "larger", large[0], "pages", large[2] - large[1], large[2] - large[1], large[1],
            large[2]))
    real = sum(d.waste.real_by_type.get(t.id, 0) for d in dumps if d.waste for t in d.types)
    asked = sum(t.bytes_alloc for d in dumps if d.waste for t in d.types)
    waste = max(0, real - asked)
    print("Total memory used: %d bytes; total waste: %d bytes (%.1f%%) -- exact: bytes handed "
          "out minus bytes requested" % (real, waste, 100.0 * waste / real if real else 0))
    by = [r for r in rows if r.get("real")]
    by.sort(key=lambda r: (-(r["real"] - r["ba"]), r["label"]))
    if by:
        width = max([20] + [min(100, len(r["label"])) for r in by[:lines]])
        print("%-*s %10s %12s %12s %12s %7s" % (width, "Type", "Requests", "Requested",
                                                "Handed out", "Waste", "Waste%"))
        for r in by[:lines]:
            w = max(0, r["real"] - r["ba"])
            print("%-*s %10d %12d %12d %12d %6.1f%%" % (width, r["label"][:width], r["allocs"],
                                                        r["ba"], r["real"], w,
                                                        100.0 * w / r["real"]))


def sort_rows(rows, order):
    if order == "requests":
        rows.sort(key=lambda r: (-r["allocs"], r["label"]))
    elif order == "bytes":
        rows.sort(key=lambda r: (-r["ba"], r["label"]))


def by_program(dumps, order="memuse"):
    """The dumps grouped by program (a process tree: make, cc1, as...), the
    group with the most memory in use (or requests, or bytes) first."""
    groups = {}
    for d in dumps:
        groups.setdefault(os.path.basename(d.exe) or "?", []).append(d)

    def weight(g):
        ts = [t for d in g for t in d.types]
        if order == "requests":
            return sum(t.allocs for t in ts)
        if order == "bytes":
            return sum(t.bytes_alloc for t in ts)
        return sum(t.in_use_bytes for t in ts)
    return sorted(groups.values(), key=lambda g: (-weight(g), os.path.basename(g[0].exe)))


def print_notes(dumps):
    """The last line of a report: modules without file:line, cut stacks."""
    cut = sum(1 for d in dumps if d.depth > 1 for t in d.types if len(t.pcs) >= d.depth)
    line = symbolize.notes(cut, max([d.depth for d in dumps] or [0]))
    if line:
        print(line)


def label_rows(rows, n, frames=2):
    """Symbolizes the labels of rows[:n] made by merge_types(lazy=True): a
    table prints 30 rows of what may be 65,000 types."""
    by_dump = {}
    for r in rows[:n]:
        if r.get("_src"):
            d, pcs = r["_src"]
            by_dump.setdefault(id(d), (d, set()))[1].update(pcs)
    names = {k: symbolize.names(d, sorted(pcs)) for k, (d, pcs) in by_dump.items()}
    for r in rows[:n]:
        if r.get("_src"):
            d, pcs = r["_src"]
            r["label"] = " < ".join(names[id(d)].get(pc, "%#x" % pc) for pc in pcs)
    distinct_labels(rows)
    return rows


def distinct_labels(rows):
    """Rows of distinct call sites whose labels are the same (a line of an
    inline wrapper, a function without line information) get the module and
    offset of their call site appended, then a number, so that no two rows
    of a table read alike."""
    by = {}
    for r in rows:
        by.setdefault(r["label"], []).append(r)
    for label, same in by.items():
        if len(same) < 2:
            continue
        for r in same:
            at = r.get("_at")
            if at:
                r["label"] = "%s [%s+%#x]" % (label, os.path.basename(at[0]) or "?", at[1])
        again = {}
        for r in same:
            again.setdefault(r["label"], []).append(r)
        for dup in again.values():
            if len(dup) > 1:
                for k, r in enumerate(dup, 1):
                    r["label"] = "%s #%d" % (r["label"], k)
    return rows


def merge_types(dumps, no_symbolize=False, frames=2, lazy=False):
    """Rows of the vmstat -m table; types of several processes merge by call
    site (module path + offset of each frame) or by name. lazy: labels stay
    raw addresses until label_rows() names the rows shown."""
    class A:  # the few knobs the loop below reads
        pass
    args = A()
    args.no_symbolize, args.frames = no_symbolize, frames
    merged = {}
    for d in dumps:
        names = {} if args.no_symbolize or lazy else symbolize.names(
            d, sorted({pc for t in d.types for pc in t.pcs}))
        for t in d.types:
            if t.allocs == 0 and t.frees == 0 and t.failures == 0 and not t.inherited and \
                    t.id not in (getattr(d, "guard", None) or {}):
                continue
            if t.name:
                key = label = t.name
            elif t.pcs:
                key = []
                for pc in t.pcs:
                    m = d.module_of(pc)
                    key.append((m.path, pc - m.base) if m else ("", pc))
                key = tuple(key)
                label = " < ".join(names.get(pc, "%#x" % pc)
                                   for pc in t.pcs[:max(1, args.frames)])
            else:
                key = label = "(untyped)" if t.id == 0 else "(other sites: type table full)"
            # inuse, mem: blocks and bytes live, summed per process (a
            # forked child's inherited blocks are its own: docs/format.md).
            row = merged.setdefault(key, {"label": label, "allocs": 0, "frees": 0,
                                          "ba": 0, "bf": 0, "sizes": set(), "hu": 0,
                                          "fail": 0, "guard": 0, "gmiss": 0, "real": 0,
                                          "inuse": 0, "mem": 0, "inh": 0,
                                          "_at": key[0] if t.pcs and not t.name else None})
            if lazy and not args.no_symbolize and t.pcs and not t.name and "_src" not in row:
                row["_src"] = (d, t.pcs[:max(1, args.frames)])
            row["fail"] += t.failures
            row["real"] += d.waste.real_by_type.get(t.id, 0) if getattr(d, "waste", None) else 0
            g, gm = (getattr(d, "guard", None) or {}).get(t.id, (0, 0))
            row["guard"] += g
            row["gmiss"] += gm
            if t.highuse is None or row["hu"] is None:
                row["hu"] = None
            else:
                row["hu"] += t.highuse
            row["allocs"] += t.allocs
            row["frees"] += t.frees
            row["ba"] += t.bytes_alloc
            row["bf"] += t.bytes_freed
            row["inuse"] += t.in_use
            row["mem"] += t.in_use_bytes
            row["inh"] += t.inherited
            row["sizes"].update(d.class_names(t.classes))
    rows = sorted(merged.values(), key=lambda r: (-r["mem"], -r["allocs"], r["label"]))
    return rows if lazy else distinct_labels(rows)


def print_table(dumps, rows, lines, growth=None):
    if len(dumps) <= 4:
        procs = ", ".join("%s (pid %d)" % (os.path.basename(d.exe) or "?", d.pid) for d in dumps)
    else:  # a process tree: the count, each program once
        count = {}
        for d in dumps:
            k = os.path.basename(d.exe) or "?"
            count[k] = count.get(k, 0) + 1
        procs = "%d processes (%s)" % (len(dumps), ", ".join(
            "%s x%d" % (k, n) if n > 1 else k for k, n in sorted(count.items())))
    print("memtype: %d call sites in %s" % (len(rows), procs))
    width = max([20] + [min(110, len(r["label"])) for r in rows[:lines]])
    # A Fail column when failures were injected (dumps with a FAILURES section).
    fail = any(getattr(d, "failures", None) is not None for d in dumps) or \
        any(r.get("fail") for r in rows)
    guard = any(getattr(d, "guard", None) is not None for d in dumps)
    waste = any(getattr(d, "waste", None) is not None for d in dumps)
    print("%-*s %9s %9s %9s%s %10s%s%s  %s%s" % (width, "Type", "InUse", "MemUse", "HighUse",
                                                " %8s" % "Waste" if waste else "",
                                                "Requests", " %7s" % "Fail" if fail else "",
                                                " %8s %7s" % ("Guarded", "GMiss") if guard else "",
                                                "Size(s)", "" if growth is None else "  Growth"))

    def size_key(s):
        return (0, int(s)) if s.isdigit() else (1, s)
    for r in rows[:lines]:
        mem = r["mem"]
        high = "-" if r["hu"] is None else _human_k(max(r["hu"], mem))
        line = "%-*s %9d %9s %9s%s %10d%s%s  %s" % (
            width, r["label"][:width], r["inuse"], _human_k(mem), high,
            " %8s" % _human_k(max(0, r.get("real", 0) - r["ba"])) if waste else "",
            r["allocs"], " %7d" % r.get("fail", 0) if fail else "",
            " %8d %7d" % (r.get("guard", 0), r.get("gmiss", 0)) if guard else "",
            ",".join(sorted(r["sizes"], key=size_key)))
        if growth is not None:
            delta = mem - growth.get(r["label"], 0)
            mark = "%+dK" % (delta // 1024) if delta else ""
            line += "  " + ("\033[1m%s\033[0m" % mark if delta > 0 and sys.stdout.isatty() else mark)
        print(line)
    if len(rows) > lines:
        print("... %d more types (--lines N shows more)" % (len(rows) - lines))
    for d in dumps:
        if getattr(d, "guard", None) is not None:
            print("memguard: %s (pid %d): %d KiB of guarded blocks live (guard pages included), "
                  "budget %d KiB" % (os.path.basename(d.exe) or "?", d.pid,
                                     d.guard_pages * 4, d.guard_budget * 4))


def type_label(d, tid, names):
    """A type's label in dump d: its name, or its call site symbolized."""
    for t in d.types:
        if t.id == tid:
            if t.name:
                return t.name
            if t.pcs:
                return names.get(t.pcs[0], "%#x" % t.pcs[0])
    return "(untyped)" if tid == 0 else "type %d" % tid


def print_leaks(dumps, no_symbolize=False, lines=30, reachable=False):
    """The leak records of each dump, valgrind-like: biggest first, with the
    type's allocation stack symbolized."""
    for d in dumps:
        prog = "%s (pid %d)" % (os.path.basename(d.exe) or "?", d.pid)
        if d.leaks is None:
            print("memtype: %s: no leak scan in this dump (MEMTYPE_LEAKS=0, or not an exit "
                  "dump)" % prog)
            continue
        show = [r for r in d.leaks.records if reachable or r.kind != "still reachable"]
        by_id = {t.id: t for t in d.types}
        # only the records printed are symbolized: a dump may hold 65,000
        pcs = sorted({pc for r in (show[:lines] if lines else show)
                      for pc in (by_id[r.type].pcs if r.type in by_id else []) + r.stack})
        names = {} if no_symbolize else symbolize.names(d, pcs)
        fr = {} if no_symbolize else symbolize.frames(d, pcs)
        print("memtype: leaks of %s (scan took %.1f ms over %d KiB of roots)"
              % (prog, d.leaks.ns / 1e6, d.leaks.roots_bytes // 1024))
        for i, r in enumerate(show[:lines] if lines else show, 1):
            t = by_id.get(r.type)
            print("%d. %d bytes in %d block%s %s %s, type %s (e.g. %#x)"
                  % (i, r.bytes, r.blocks, "" if r.blocks == 1 else "s",
                     "is" if r.blocks == 1 else "are", r.kind,
                     type_label(d, r.type, names), r.sample))
            # the block's own allocation stack (1.6, checks or guard pages on), else its type's
            for line in symbolize.stack_lines(d, r.stack or (t.pcs if t else []), fr):
                print("    " + line)
        if lines and len(show) > lines:
            print("... %d more records (--lines N shows more)" % (len(show) - lines))
        print("memtype: leak summary: " + "; ".join(
            "%s: %d bytes in %d blocks" % (k, b, n) for k, (b, n) in d.leaks.totals.items()))


def print_errors(dumps, no_symbolize=False, lines=30):
    """The heap errors of each dump, oldest first, symbolized."""
    for d in dumps:
        prog = "%s (pid %d)" % (os.path.basename(d.exe) or "?", d.pid)
        if not d.errors_total:
            print("memtype: %s: no heap errors" % prog)
            continue
        print("memtype: %d heap error%s in %s" % (d.errors_total,
                                                 "" if d.errors_total == 1 else "s", prog))
        pcs = sorted({pc for e in d.errors
                      for pc in e.frames + [e.free_pc] + e.alloc_stack + e.free_stack if pc} |
                     {pc for t in d.types for pc in t.pcs})
        names = {} if no_symbolize else symbolize.names(d, pcs)
        fr = {} if no_symbolize else symbolize.frames(d, pcs)
        for e in d.errors[-lines:] if lines else d.errors:
            where = ""
            if e.block:
                end = e.block + e.size
                if e.addr >= end and e.addr != e.block:
                    where = "%d bytes after" % (e.addr - end)
                elif e.addr < e.block:
                    where = "%d bytes before" % (e.block - e.addr)
                else:
                    where = "%d bytes into" % (e.addr - e.block)
                where = " (%s a %d-byte block of type %s)" % (
                    where, e.size, type_label(d, e.type, names) if e.type >= 0 else "?")
            print("#%d %s%s at %#x%s, thread %d" % (e.seq, e.kind, " " + e.access if e.access
                                                     else "", e.addr, where, e.tid))
            for line in symbolize.stack_lines(d, e.frames, fr):
                print("    " + line)
            t = [t for t in d.types if t.id == e.type] if e.block and e.type >= 0 else []
            alloc = e.alloc_stack or (t[0].pcs if t else [])  # the block's own, else its type's
            if alloc:
                print("  allocated at:")
                for line in symbolize.stack_lines(d, alloc, fr):
                    print("    " + line)
            if e.free_stack or e.free_pc:
                print("  freed at:")
                for line in symbolize.stack_lines(d, e.free_stack or [e.free_pc], fr):
                    print("    " + line)


def print_failures(dumps, no_symbolize=False, lines=30):
    """The injected failures of each dump, newest last, with their stacks."""
    for d in dumps:
        prog = "%s (pid %d)" % (os.path.basename(d.exe) or "?", d.pid)
        f = d.failures
        if f is None:
            print("memtype: %s: failure injection was off (MEMTYPE_FAILURE_RATE=0)" % prog)
            continue
        print("memtype: %d injected failure%s in %s: 1 in %d of %d eligible allocations, "
              "seed %d (MEMTYPE_FAILURE_SEED=%d repeats it)"
              % (f.total, "" if f.total == 1 else "s", prog, f.rate, f.eligible, f.seed, f.seed))
        pcs = sorted({pc for e in f.events for pc in e.frames} |
                     {pc for t in d.types for pc in t.pcs[:1]})
        names = {} if no_symbolize else symbolize.names(d, pcs)
        fr = {} if no_symbolize else symbolize.frames(d, pcs)
        shown = f.events[-lines:] if lines else f.events
        if len(shown) < f.total:
            print("  (the last %d shown)" % len(shown))
        for e in shown:
            print("#%d %s(%d) returned NULL: eligible allocation %d, thread %d, type %s"
                  % (e.seq, e.family, e.size, e.eligible, e.tid, type_label(d, e.type, names)))
            for line in symbolize.stack_lines(d, e.frames, fr):
                print("    " + line)
        if d.reason == "fatal signal" and f.events:
            e = f.events[-1]
            where = type_label(d, e.type, names)
            print("memtype: the process died of signal %d after injected failure #%d at %s"
                  % (d.signal, e.seq, where))


def build_stat_parser(top=False):
    p = argparse.ArgumentParser(prog="memtype top" if top else "memtype stat",
                                description="The vmstat -m table of a running process "
                                            "(started with MEMTYPE_LIVE=1)%s." % (
                                                ", refreshed, its growth since the last "
                                                "refresh shown" if top else ""))
    p.add_argument("pid", type=int, metavar="PID", help="the process").complete = "live"
    p.add_argument("--lines", type=int, default=30, help="rows to show (default 30)")
    p.add_argument("--no-symbolize", action="store_true", help="show raw addresses")
    if top:
        p.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes")
        p.add_argument("--count", type=int, default=0, help="refreshes, 0 = until it exits")
    return p


def cmd_stat(argv, top=False):
    import time
    args = build_stat_parser(top).parse_args(argv)
    # The files of processes gone without removing them (killed, or exec'd
    # a program without memtype): up to 70 MB each of /dev/shm otherwise.
    for p in livemod.sweep(keep=args.pid):
        print("memtype: removed %s: its process is gone" % p, file=sys.stderr)
    last, n = None, 0
    while True:
        try:
            d = livemod.read(args.pid)
        except livemod.LiveError as e:
            if last is not None and not os.path.exists("/proc/%d" % args.pid):
                print("memtype: pid %d has exited" % args.pid)
                return 0
            print("memtype: error: %s" % e, file=sys.stderr)
            return 2
        rows = merge_types([d], args.no_symbolize)
        if top and sys.stdout.isatty():
            sys.stdout.write("\033[H\033[2J")
        print_table([d], rows, args.lines,
                    growth=None if not top or last is None else
                    {r["label"]: r["mem"] for r in last})
        sys.stdout.flush()
        if not top:
            return 0
        last, n = rows, n + 1
        if args.count and n >= args.count:
            return 0
        time.sleep(args.interval)


def build_options_parser():
    p = argparse.ArgumentParser(prog="memtype options",
                                description="Every MEMTYPE_* variable: its default, the "
                                            "values it accepts, its memtype run flag and "
                                            "what it does.")
    p.add_argument("--markdown", action="store_true", help="print docs/options.md")
    return p


def cmd_options(argv, rows):
    args = build_options_parser().parse_args(argv)
    sys.stdout.write(opts.markdown(rows) if args.markdown else opts.text(rows))
    return 0


def build_completion_parser():
    p = argparse.ArgumentParser(prog="memtype completion",
                                description="Print a completion script for a shell, made "
                                            "from the command's own argument parsers.")
    p.add_argument("shell", choices=("bash",), help="the shell (bash)")
    return p


def cmd_completion(argv, rows):
    build_completion_parser().parse_args(argv)
    from . import completion
    sys.stdout.write(completion.bash(parsers(rows)))
    return 0


def parsers(rows):
    """Every subcommand's argument parser, in the order of the usage text:
    the one source of the completion script and of memtype(1)'s options.
    An action's `complete` attribute tells the completion what its value
    is: "dump", "file" or "pid" (see completion.py)."""
    from . import sweep
    return {
        "run": build_run_parser(rows),
        "report": build_report_parser(),
        "diff": build_diff_parser(),
        "sweep": sweep.parser(),
        "stat": build_stat_parser(False),
        "top": build_stat_parser(True),
        "options": build_options_parser(),
        "completion": build_completion_parser(),
    }


def entry(argv, lib_path, options_def, version="?"):
    """The command's entry point: main(), and a reader that stops reading
    (`memtype report --json ... | head`) ends it quietly, as it ends cat or
    grep: the default action of SIGPIPE, and no traceback for the
    BrokenPipeError of output already buffered."""
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        rc = main(argv, lib_path, options_def, version)
        sys.stdout.flush()
        return rc
    except BrokenPipeError:
        # stdout's buffer cannot be written: let interpreter exit not try again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE


def main(argv, lib_path, options_def, version="?"):
    if not argv or argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0 if argv else 2
    if argv[0] in ("--version", "version"):
        print("memtype %s" % version)
        return 0
    try:
        rows = opts.load(options_def)
    except (OSError, ValueError) as e:
        why = "%s: %s" % (options_def, os.strerror(e.errno)) if isinstance(e, OSError) and \
            e.errno else e
        print("memtype: error: cannot read the options table: %s" % why, file=sys.stderr)
        return 2
    cmd, rest = argv[0], argv[1:]
    if cmd == "report":
        return cmd_report(rest)
    if cmd == "diff":
        return cmd_diff(rest)
    if cmd in ("stat", "top"):
        return cmd_stat(rest, top=cmd == "top")
    if cmd == "run":
        return cmd_run(rest, lib_path, rows)
    if cmd == "options":
        return cmd_options(rest, rows)
    if cmd == "sweep":
        from . import sweep
        return sweep.main(rest, lib_path)
    if cmd == "completion":
        return cmd_completion(rest, rows)
    print("memtype: error: unknown command %r\n" % cmd, file=sys.stderr)
    sys.stderr.write(USAGE)
    return 2

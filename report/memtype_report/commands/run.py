"""`memtype run [flags] -- PROGRAM [ARGS...]`: the program under libmemtype,
then the run's summary from its dumps."""
import argparse
import os
import signal
import subprocess
import sys

from .. import dump as dumpmod
from .. import symbolize
from ..forms import human_k as _human_k


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
    p.add_argument("--lib", default=None, metavar="FILE",
                   help="path of libmemtype.so to preload").complete = "file"
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
    env.setdefault("MEMTYPE_STATS", "1")
    for o in rows:
        v = getattr(args, o.field)
        if v is not None:
            env[o.env] = v
    import glob
    import time
    from .. import target
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

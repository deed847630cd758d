"""The `memtype` command: its usage, its argument parsers and the dispatch
of a command line to the module of its command (commands/). What each
command does is there; the report's model is model.py, its views forms/."""
import os
import signal
import sys

from . import options as opts
from .commands import completion, diff, options, report, run, stat, sweep

USAGE = """memtype - a malloc debugger for unmodified programs

  memtype run [flags] -- PROGRAM [ARGS...]   run PROGRAM with libmemtype preloaded,
                                             finding bugs (heap checks, guard pages,
                                             leaks, stacks; go on after an error), then
                                             its reports and summary; --profile: types
                                             and statistics only
  memtype report [--table] FILE...           the vmstat -m table of one or more dumps
                                             (a process tree's dumps merge into one)
  memtype report --failures FILE...          the injected allocation failures, with stacks
  memtype report --errors FILE...            the heap errors reported, with stacks
  memtype report --leaks FILE...             the leaks found at exit, biggest first
  memtype report --json FILE...              everything, as JSON (docs/report-json.md)
  memtype report --folded [--weight W] FILE... folded stacks for flame graphs, weighted
                                             by bytes (allocated), allocs, inuse or leaks
  memtype report --html OUT FILE...          one self-contained page: tables and charts
  memtype report --suppressions FILE...      a suppressions file (memtype run --suppress)
                                             with a rule for each leak and heap error
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


def parsers(rows):
    """Every subcommand's argument parser, in the order of the usage text:
    the one source of the completion script and of memtype(1)'s options.
    An action's `complete` attribute tells the completion what its value
    is: "dump", "file" or "pid" (see completion.py)."""
    return {
        "run": run.parser(rows),
        "report": report.parser(),
        "diff": diff.parser(),
        "sweep": sweep.parser(),
        "stat": stat.parser(False),
        "top": stat.parser(True),
        "options": options.parser(),
        "completion": completion.parser(),
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
        return report.main(rest)
    if cmd == "diff":
        return diff.main(rest)
    if cmd in ("stat", "top"):
        return stat.main(rest, top=cmd == "top")
    if cmd == "run":
        return run.main(rest, lib_path, rows)
    if cmd == "options":
        return options.main(rest, rows)
    if cmd == "sweep":
        return sweep.main(rest, lib_path)
    if cmd == "completion":
        return completion.main(rest, parsers(rows))
    print("memtype: error: unknown command %r\n" % cmd, file=sys.stderr)
    sys.stderr.write(USAGE)
    return 2

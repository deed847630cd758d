"""`memtype report FILE...`: reads the dumps, then prints the forms asked
for, each a module of forms/ over the model (model.py): the vmstat -m table
by default."""
import argparse
import sys

from .. import dump as dumpmod
from .. import formats, progress
from ..forms import (errors, failures, folded, html_out, json_out, leaks, peak, print_notes,
                     suppressions, timeline, types, waste)


def parser():
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
    p.add_argument("--timeline", action="store_true",
                   help="memory in use over the run, a text chart as ms_print draws it, "
                        "stacked by the top types (format 1.8 dumps)")
    p.add_argument("--by", choices=("time", "allocated"), default="time",
                   help="with --timeline: time across (default) or bytes allocated so far")
    p.add_argument("--peak", action="store_true",
                   help="the heap's exact peak of bytes in use and what each type held "
                        "then, with its own high-water mark (format 1.8 dumps)")
    p.add_argument("--reachable", action="store_true",
                   help="with --leaks: list still-reachable records too")
    p.add_argument("--json", action="store_true",
                   help="everything in the dumps as one JSON document (schema: "
                        "docs/report-json.md); nothing else is printed")
    p.add_argument("--suppressions", action="store_true",
                   help="a suppressions file for memtype run --suppress (MEMTYPE_SUPPRESS): "
                        "one rule for each leak record and heap error of the dumps, what it "
                        "covers above it; nothing else is printed")
    p.add_argument("--folded", action="store_true",
                   help="folded stacks (flamegraph.pl, speedscope, inferno), one line per "
                        "call-site stack, weighted as --weight says")
    p.add_argument("--weight", choices=formats.FOLDED_WEIGHTS, default="bytes",
                   help="with --folded: bytes allocated (default), allocs, inuse (bytes in "
                        "use at the dump), leaks (bytes definitely, indirectly or "
                        "possibly lost) or peak (bytes in use at the heap's peak)")
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


def main(argv):
    args = parser().parse_args(argv)
    progress.Progress("memtype report")  # on a terminal, after 0.5 s; erased by any output
    if args.html:
        why = html_out.check_output(args.html, args.files)
        if why:
            print("memtype: error: %s" % why, file=sys.stderr)
            return 2
    dumps, bad = load_dumps(args.files)
    if not dumps:
        return 2
    status = 2 if bad else 0
    # The forms that are the whole output.
    for asked, form in ((args.json, json_out), (args.html, html_out), (args.folded, folded),
                        (args.suppressions, suppressions)):
        if asked:
            return form.show(dumps, args) or status
    # The text forms, in this order, then the table unless another was asked
    # for alone.
    for asked, form in ((args.leaks, leaks), (args.errors, errors), (args.failures, failures),
                        (args.waste, waste), (args.timeline, timeline), (args.peak, peak)):
        if asked:
            form.show(dumps, args)
    alone = args.errors or args.failures or args.leaks or args.waste or args.timeline or \
        args.peak
    if not (alone and not args.types):
        types.show(dumps, args)
    print_notes(dumps)
    for d in dumps:
        for note in getattr(d, "notes", []):
            print("memtype: note: %s" % note, file=sys.stderr)
    return status

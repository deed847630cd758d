"""`memtype report --failures`: the injected failures of each dump."""
import os

from .. import symbolize
from ..model import type_label


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


def show(dumps, args):
    print_failures(dumps, args.no_symbolize, args.lines)

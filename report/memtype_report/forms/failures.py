"""`memtype report --failures`: the injected failures of each dump, newest
last, with their stacks."""
from .. import symbolize
from ..model import failures_of


def print_failures(pf):
    """One process's injected failures (model.ProcessFailures)."""
    f = pf.injection
    if f is None:
        print("memtype: %s: failure injection was off (MEMTYPE_FAILURE_RATE=0)"
              % pf.process.title)
        return
    print("memtype: %d injected failure%s in %s: 1 in %d of %d eligible allocations, "
          "seed %d (MEMTYPE_FAILURE_SEED=%d repeats it)"
          % (f.total, "" if f.total == 1 else "s", pf.process.title, f.rate, f.eligible,
             f.seed, f.seed))
    if len(pf.failures) < f.total:
        print("  (the last %d shown)" % len(pf.failures))
    for fail in pf.failures:
        e = fail.event
        print("#%d %s(%d) returned NULL: eligible allocation %d, thread %d, type %s"
              % (e.seq, e.family, e.size, e.eligible, e.tid, fail.label))
        for line in symbolize.stack_lines(pf.process.dump, e.frames, pf.frames):
            print("    " + line)
    if pf.died_after:
        print("memtype: the process died of signal %d after injected failure #%d at %s"
              % (pf.process.dump.signal, pf.died_after.event.seq, pf.died_after.label))


def show(dumps, args):
    for d in dumps:
        print_failures(failures_of(d, args.no_symbolize, args.lines))

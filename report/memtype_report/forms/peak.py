"""`memtype report --peak`: the heap's exact peak and what each type held
at that moment (heaptrack's peak view), with each type's own high-water
mark (model.peak_of)."""
from ..model import peak_of
from .timeline import human


def print_peak(pp):
    title = pp.process.title
    pk = pp.peak
    if pk is None:
        print("memtype: %s: no peak in this dump (format 1.8 or later has one)" % title)
        return
    how = ("exact: one thread" if pk.exact else
           "%d threads: exact up to what the others gained since each thread's last check "
           "(docs/format.md, PEAK)" % pk.threads)
    print("memtype: peak of %s: %d bytes (%s) in use at %.3f s, new peaks %d; %s"
          % (title, pk.bytes, human(pk.bytes), pk.time_ns / 1e9, pk.count, how))
    if not pp.rows:
        return
    width = max([20] + [min(100, len(r.label)) for r in pp.rows])
    print("%-*s %12s %6s %9s %12s" % (width, "Type", "AtPeak", "%", "Blocks", "OwnHigh"))
    for r in pp.rows:
        high = "-" if r.high is None else "%s%d" % ("" if r.high_exact else ">=", r.high)
        print("%-*s %12d %5.1f%% %9d %12s" % (width, r.label[:width], r.bytes, r.percent,
                                              r.blocks, high))
    if pp.more:
        print("... %d more types held memory at the peak (--lines N shows more)" % pp.more)


def show(dumps, args):
    for d in dumps:
        print_peak(peak_of(d, args.no_symbolize, args.lines))

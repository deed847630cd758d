"""`memtype report --leaks`: the leak records of each dump, valgrind-like:
biggest first, with the type's allocation stack symbolized."""
from .. import symbolize
from ..model import leaks_of


def print_leaks(pl):
    """One process's leaks (model.ProcessLeaks)."""
    if not pl.scanned:
        print("memtype: %s: no leak scan in this dump (MEMTYPE_LEAKS=0, or not an exit "
              "dump)" % pl.process.title)
        return
    d = pl.process.dump
    print("memtype: leaks of %s (scan took %.1f ms over %d KiB of roots)"
          % (pl.process.title, pl.scan_ns / 1e6, pl.roots_bytes // 1024))
    for i, leak in enumerate(pl.leaks, 1):
        r = leak.record
        print("%d. %d bytes in %d block%s %s %s, type %s (e.g. %#x)"
              % (i, r.bytes, r.blocks, "" if r.blocks == 1 else "s",
                 "is" if r.blocks == 1 else "are", r.kind, leak.label, r.sample))
        for line in symbolize.stack_lines(d, leak.stack, pl.frames):
            print("    " + line)
    if pl.more:
        print("... %d more records (--lines N shows more)" % pl.more)
    print("memtype: leak summary: " + "; ".join(
        "%s: %d bytes in %d blocks" % (k, b, n) for k, (b, n) in pl.totals.items()))


def show(dumps, args):
    for d in dumps:
        print_leaks(leaks_of(d, args.no_symbolize, args.lines, args.reachable))

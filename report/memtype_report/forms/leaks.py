"""`memtype report --leaks`: the leak records of each dump."""
import os

from .. import symbolize
from ..model import type_label


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
                      for pc in (by_id[r.type].pcs if r.type in by_id else [])})
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
            for line in symbolize.stack_lines(d, t.pcs if t else [], fr):
                print("    " + line)
        if lines and len(show) > lines:
            print("... %d more records (--lines N shows more)" % (len(show) - lines))
        print("memtype: leak summary: " + "; ".join(
            "%s: %d bytes in %d blocks" % (k, b, n) for k, (b, n) in d.leaks.totals.items()))


def show(dumps, args):
    print_leaks(dumps, args.no_symbolize, args.lines, args.reachable)

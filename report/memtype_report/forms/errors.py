"""`memtype report --errors`: the heap errors of each dump."""
import os

from .. import symbolize
from ..model import type_label


def print_errors(dumps, no_symbolize=False, lines=30):
    """The heap errors of each dump, oldest first, symbolized."""
    for d in dumps:
        prog = "%s (pid %d)" % (os.path.basename(d.exe) or "?", d.pid)
        if not d.errors_total:
            print("memtype: %s: no heap errors" % prog)
            continue
        print("memtype: %d heap error%s in %s" % (d.errors_total,
                                                 "" if d.errors_total == 1 else "s", prog))
        pcs = sorted({pc for e in d.errors for pc in e.frames + [e.free_pc] if pc} |
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
            if e.block and e.type >= 0:
                t = [t for t in d.types if t.id == e.type]
                if t and t[0].pcs:
                    print("  allocated at:")
                    for line in symbolize.stack_lines(d, t[0].pcs, fr):
                        print("    " + line)
            if e.free_pc:
                print("  freed at:")
                for line in symbolize.stack_lines(d, [e.free_pc], fr):
                    print("    " + line)


def show(dumps, args):
    print_errors(dumps, args.no_symbolize, args.lines)

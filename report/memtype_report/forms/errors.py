"""`memtype report --errors`: the heap errors of each dump, oldest first,
symbolized."""
from ..model import errors_of


def print_errors(pe):
    """One process's heap errors (model.ProcessErrors)."""
    if not pe.total:
        print("memtype: %s: no heap errors" % pe.process.title)
        return
    d = pe.process.dump
    print("memtype: %d heap error%s in %s" % (pe.total, "" if pe.total == 1 else "s",
                                             pe.process.title))
    for err in pe.errors:
        e = err.event
        where = ""
        if err.relation:
            where = " (%d bytes %s a %d-byte block of type %s)" % (
                err.distance, err.relation, e.size, err.block_label)
        print("#%d %s%s at %#x%s, thread %d" % (e.seq, e.kind, " " + e.access if e.access
                                                 else "", e.addr, where, e.tid))
        for line in pe.access_lines(err):
            print("    " + line)
        for title, stack in (("allocated at", err.alloc_stack), ("freed at", err.free_stack)):
            if stack:
                print("  %s:" % title)
                for line in pe.lines(stack):
                    print("    " + line)


def show(dumps, args):
    for d in dumps:
        print_errors(errors_of(d, args.no_symbolize, args.lines))

"""`memtype report --errors`: the heap errors of each dump, oldest first,
symbolized."""
from ..model import errors_of


def print_errors(pe, lines=30):
    """One process's heap errors (model.ProcessErrors, every error the dump
    kept). Errors whose stacks (access, allocation, free) print the same are
    told once, the first in full and the next few by their header lines
    beneath it, as valgrind counts an error context once: a bug in a loop is
    one report, not one per turn. The last `lines` such groups (0: all)."""
    if not pe.total:
        print("memtype: %s: no heap errors" % pe.process.title)
        return
    print("memtype: %d heap error%s in %s" % (pe.total, "" if pe.total == 1 else "s",
                                             pe.process.title))
    groups = {}
    for err in pe.errors:
        body = []
        for line in pe.access_lines(err):
            body.append("    " + line)
        for title, stack in (("allocated at", err.alloc_stack), ("freed at", err.free_stack)):
            if stack:
                body.append("  %s:" % title)
                body.extend("    " + line for line in pe.lines(stack))
        key = (err.event.kind, err.event.access, err.relation, tuple(body))
        groups.setdefault(key, (body, []))[1].append(err)
    shown = list(groups.values())
    if lines and len(shown) > lines:
        print("  (the first %d kinds of error left out: --lines N shows more)"
              % (len(shown) - lines))
        shown = shown[-lines:]
    for body, errs in shown:
        print(_header(errs[0]))
        for line in body:
            print(line)
        if len(errs) > 1:
            print("  the same stacks again (%d more kept in the dump):" % (len(errs) - 1))
            for err in errs[1:1 + REPEATS_SHOWN]:
                print("    " + _header(err))
            if len(errs) > 1 + REPEATS_SHOWN:
                print("    ... and %d more" % (len(errs) - 1 - REPEATS_SHOWN))
    if pe.total > len(pe.errors):
        print("  (%d more errors were counted but not kept in the dump: further repeats of "
              "the errors above, or older errors its ring no longer holds)"
              % (pe.total - len(pe.errors)))


REPEATS_SHOWN = 5


def _header(err):
    e = err.event
    where = ""
    if err.relation:
        where = " (%d bytes %s a %d-byte block of type %s)" % (
            err.distance, err.relation, e.size, err.block_label)
    return "#%d %s%s at %#x%s, thread %d" % (e.seq, e.kind, " " + e.access if e.access else "",
                                             e.addr, where, e.tid)


def show(dumps, args):
    for d in dumps:
        print_errors(errors_of(d, args.no_symbolize, 0), args.lines)

"""`memtype report --table` (the default), `memtype stat` and `top`: the
vmstat -m table of the model's type rows."""
import sys

from . import human_k
from ..model import Process, by_program, label_rows, merge_types, processes_title, sort_rows


def _size_key(s):
    return (0, int(s)) if s.isdigit() else (1, s)


def print_table(dumps, rows, lines, growth=None):
    """rows (model.TypeRow) of these dumps, the first `lines` of them; growth:
    {label: bytes in use before} adds a Growth column (`memtype top`)."""
    print("memtype: %d call sites in %s" % (len(rows), processes_title(dumps)))
    width = max([20] + [min(110, len(r.label)) for r in rows[:lines]])
    # A Fail column when failures were injected (dumps with a FAILURES section).
    fail = any(getattr(d, "failures", None) is not None for d in dumps) or \
        any(r.failures for r in rows)
    guard = any(getattr(d, "guard", None) is not None for d in dumps)
    waste = any(getattr(d, "waste", None) is not None for d in dumps)
    print("%-*s %9s %9s %9s%s %10s%s%s  %s%s" % (width, "Type", "InUse", "MemUse", "HighUse",
                                                " %8s" % "Waste" if waste else "",
                                                "Requests", " %7s" % "Fail" if fail else "",
                                                " %8s %7s" % ("Guarded", "GMiss") if guard else "",
                                                "Size(s)", "" if growth is None else "  Growth"))
    for r in rows[:lines]:
        mem = r.in_use_bytes
        high = "-" if r.high_use is None else human_k(max(r.high_use, mem))
        line = "%-*s %9d %9s %9s%s %10d%s%s  %s" % (
            width, r.label[:width], r.in_use, human_k(mem), high,
            " %8s" % human_k(r.waste) if waste else "",
            r.allocs, " %7d" % r.failures if fail else "",
            " %8d %7d" % (r.guarded, r.guard_misses) if guard else "",
            ",".join(sorted(r.sizes, key=_size_key)))
        if growth is not None:
            delta = mem - growth.get(r.label, 0)
            mark = "%+dK" % (delta // 1024) if delta else ""
            bold = delta > 0 and sys.stdout.isatty()
            line += "  " + ("\033[1m%s\033[0m" % mark if bold else mark)
        print(line)
    if len(rows) > lines:
        print("... %d more types (--lines N shows more)" % (len(rows) - lines))
    for d in dumps:
        if getattr(d, "guard", None) is not None:
            print("memguard: %s: %d KiB of guarded blocks live (guard pages included), "
                  "budget %d KiB; %s" % (Process(d).title, d.guard_pages * 4, d.guard_budget * 4,
                                         coverage_text(d)))


def coverage_text(d):
    """A dump's guard coverage: 'N of M allocations guarded (x%)', and how
    the guard pages were made when the dump says (format 1.8)."""
    g, n = d.guard_coverage()
    cheap = d.guard_overflow_only() if hasattr(d, "guard_overflow_only") else None
    return "%d of %d allocations guarded (%.1f%%%s)%s" % (
        g, n, 100.0 * g / n if n else 0.0,
        "" if cheap is None else ": %d full, %d overflow-only" % (g - cheap, cheap),
        ", guard pages by %s" % d.guard_method if getattr(d, "guard_method", "") else "")


def show(dumps, args):
    """One table per program (its processes merged), or one for all (--merge)."""
    for group in [dumps] if args.merge else by_program(dumps, args.sort):
        rows = merge_types(group, args.no_symbolize, args.frames, lazy=True)
        sort_rows(rows, args.sort)
        label_rows(rows, args.lines)
        print_table(group, rows, args.lines)

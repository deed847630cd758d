"""`memtype report --table` (the default), `memtype stat` and `top`: the
vmstat -m table of model rows."""
import os
import sys

from . import human_k as _human_k
from ..model import by_program, label_rows, merge_types, sort_rows


def print_table(dumps, rows, lines, growth=None):
    if len(dumps) <= 4:
        procs = ", ".join("%s (pid %d)" % (os.path.basename(d.exe) or "?", d.pid) for d in dumps)
    else:  # a process tree: the count, each program once
        count = {}
        for d in dumps:
            k = os.path.basename(d.exe) or "?"
            count[k] = count.get(k, 0) + 1
        procs = "%d processes (%s)" % (len(dumps), ", ".join(
            "%s x%d" % (k, n) if n > 1 else k for k, n in sorted(count.items())))
    print("memtype: %d call sites in %s" % (len(rows), procs))
    width = max([20] + [min(110, len(r["label"])) for r in rows[:lines]])
    # A Fail column when failures were injected (dumps with a FAILURES section).
    fail = any(getattr(d, "failures", None) is not None for d in dumps) or \
        any(r.get("fail") for r in rows)
    guard = any(getattr(d, "guard", None) is not None for d in dumps)
    waste = any(getattr(d, "waste", None) is not None for d in dumps)
    print("%-*s %9s %9s %9s%s %10s%s%s  %s%s" % (width, "Type", "InUse", "MemUse", "HighUse",
                                                " %8s" % "Waste" if waste else "",
                                                "Requests", " %7s" % "Fail" if fail else "",
                                                " %8s %7s" % ("Guarded", "GMiss") if guard else "",
                                                "Size(s)", "" if growth is None else "  Growth"))

    def size_key(s):
        return (0, int(s)) if s.isdigit() else (1, s)
    for r in rows[:lines]:
        mem = r["mem"]
        high = "-" if r["hu"] is None else _human_k(max(r["hu"], mem))
        line = "%-*s %9d %9s %9s%s %10d%s%s  %s" % (
            width, r["label"][:width], r["inuse"], _human_k(mem), high,
            " %8s" % _human_k(max(0, r.get("real", 0) - r["ba"])) if waste else "",
            r["allocs"], " %7d" % r.get("fail", 0) if fail else "",
            " %8d %7d" % (r.get("guard", 0), r.get("gmiss", 0)) if guard else "",
            ",".join(sorted(r["sizes"], key=size_key)))
        if growth is not None:
            delta = mem - growth.get(r["label"], 0)
            mark = "%+dK" % (delta // 1024) if delta else ""
            line += "  " + ("\033[1m%s\033[0m" % mark if delta > 0 and sys.stdout.isatty() else mark)
        print(line)
    if len(rows) > lines:
        print("... %d more types (--lines N shows more)" % (len(rows) - lines))
    for d in dumps:
        if getattr(d, "guard", None) is not None:
            print("memguard: %s (pid %d): %d KiB of guarded blocks live (guard pages included), "
                  "budget %d KiB" % (os.path.basename(d.exe) or "?", d.pid,
                                     d.guard_pages * 4, d.guard_budget * 4))


def show(dumps, args):
    """One table per program (its processes merged), or one for all (--merge)."""
    for group in [dumps] if args.merge else by_program(dumps, args.sort):
        rows = merge_types(group, args.no_symbolize, args.frames, lazy=True)
        sort_rows(rows, args.sort)
        label_rows(rows, args.lines, args.frames)
        print_table(group, rows, args.lines)

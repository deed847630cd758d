"""`memtype report --timeline`: memory in use over the run as a text chart,
as massif's ms_print draws it: time (or bytes allocated: --by allocated)
across, bytes in use up, each column stacked by the top types, each type
drawn with its own letter and named under the chart (model.timeline_of)."""
from ..model import timeline_of

HEIGHT = 16
WIDTH = 64
LETTERS = "ABCDEF"
OTHER = "."


def human(n):
    for unit, k in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= k:
            return "%.1f %s" % (n / k, unit)
    return "%d B" % n


def _columns(xs, n):
    """Snapshot index per column: the last snapshot at or before the
    column's x (memory holds its value until the next snapshot)."""
    if not xs:
        return []
    lo, hi = xs[0], xs[-1]
    cols, j = [], 0
    for c in range(n):
        x = lo + (hi - lo) * c / max(1, n - 1)
        while j + 1 < len(xs) and xs[j + 1] <= x:
            j += 1
        cols.append(j)
    return cols


def chart(tl, by="time", width=WIDTH, height=HEIGHT):
    """The chart's lines (model.ProcessTimeline)."""
    xs = tl.times_ns if by == "time" else tl.allocated
    top = max(tl.totals or [0])
    if not xs or top == 0:
        return ["(no snapshot: the process ended before the first one)"]
    n = min(width, max(len(xs), 2) * 4)
    cols = _columns(xs, n)
    grid = [[" "] * n for _ in range(height)]
    for c, i in enumerate(cols):
        y = 0
        stack = [(LETTERS[k], s.values[i]) for k, s in enumerate(tl.series)]
        stack.append((OTHER, tl.other[i]))
        acc = 0
        for ch, v in stack:
            acc += v
            rows = int(round(acc * height / top))
            while y < rows and y < height:
                grid[y][c] = ch
                y += 1
    lines = []
    for r in range(height - 1, -1, -1):
        label = human(top * (r + 1) // height) if r in (height - 1, height // 2 - 1) else ""
        lines.append("%10s |%s" % (label, "".join(grid[r])))
    lines.append("%10s +%s" % ("0", "-" * n))
    if by == "time":
        end = "%.3f s" % (xs[-1] / 1e9)
        lines.append("%10s  %-*s%s" % ("", n - len(end), "%.3f s" % (xs[0] / 1e9), end))
    else:
        end = human(xs[-1]) + " allocated"
        lines.append("%10s  %-*s%s" % ("", n - len(end), human(xs[0]), end))
    for k, s in enumerate(tl.series):
        lines.append("  %s  %s (most %s)" % (LETTERS[k], s.label, human(s.peak)))
    if any(tl.other):
        lines.append("  %s  every other type" % OTHER)
    return lines


def print_timeline(tl, by="time"):
    title = tl.process.title
    if not tl.times_ns:
        if tl.peak:   # a 1.8 dump without one
            print("memtype: %s: no timeline in this dump (written with MEMTYPE_TIMELINE=0)"
                  % title)
        else:
            print("memtype: %s: no timeline in this dump (format 1.8 or later has one)" % title)
        return
    print("memtype: memory in use over %s: %d snapshots, one every %s at the end%s"
          % (title, len(tl.times_ns), "%.0f ms" % (tl.spacing_ns / 1e6),
             "; peak %s" % human(tl.peak.bytes) if tl.peak else ""))
    for line in chart(tl, by):
        print(line)


def show(dumps, args):
    for d in dumps:
        print_timeline(timeline_of(d, args.no_symbolize, len(LETTERS)), args.by)

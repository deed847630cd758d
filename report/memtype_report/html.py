"""`memtype report --html OUT`: one self-contained page (no network: the
styles, the script and the charts are inline; a Content-Security-Policy
forbids anything else) with sortable tables and SVG charts of the types
holding most memory, the most frequent allocations, the leaks by kind and
call site, and the heap errors; an icicle flame graph of allocations by
stack (flame.py); full stacks on every leak and error row. Long cells wrap
(a Size(s) list, a C++ name) so that the page never scrolls sideways."""
import html
import os
import time

from . import flame, formats, progress, symbolize
from .dump import program_name

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
td{overflow-wrap:anywhere}svg.chart{max-width:100%;height:auto}
details summary{cursor:pointer}details pre{margin:4px 0;white-space:pre-wrap;overflow-wrap:anywhere}
table.stacks th,table.stacks td{text-align:left;vertical-align:top;width:auto}
td.stack{font-family:monospace}td.stack pre{font-size:12px;padding:4px 8px}
table.leaks th:nth-child(1){width:25%}table.leaks th:nth-child(2){width:10%}
table.leaks th:nth-child(5){width:45%}table.errors th:nth-child(1){width:10%}
table.errors th:nth-child(2){width:9%}table.errors th:nth-child(3){width:15%}
table.errors th.stack{width:20%}
table.errors td:nth-child(2),table.stacks td:last-child{overflow-wrap:break-word}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}
th:first-child,td:first-child{text-align:left;font-family:monospace;width:35%}
th{cursor:pointer;background:#f4f4f4;position:sticky;top:0}
table.cut tr.more{display:none}th.sorted-asc::after{content:" \\25B2"}th.sorted-desc::after{content:" \\25BC"}
.chart text{font:12px monospace}.muted{color:#777}pre{background:#f8f8f8;padding:8px}
""" + flame.CSS

# Sorting: a click on a header sorts its table by that column (numbers by
# their value, K suffixes included), again to reverse.
_JS = """
(function () {
  function key(td) {
    var t = td.getAttribute('data-v');
    if (t === null) t = td.textContent.trim();
    var n = parseFloat(t);
    return isNaN(n) ? t.toLowerCase() : n;
  }
  var SHOWN = %d;
  var tables = document.querySelectorAll('table.sortable');
  tables.forEach(function (table) {
    var heads = table.querySelectorAll('th');
    heads.forEach(function (th, col) {
      th.addEventListener('click', function () {
        var desc = !th.classList.contains('sorted-desc');
        heads.forEach(function (h) { h.classList.remove('sorted-asc', 'sorted-desc'); });
        th.classList.add(desc ? 'sorted-desc' : 'sorted-asc');
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[col]), y = key(b.cells[col]);
          var r = x < y ? -1 : x > y ? 1 : 0;
          return desc ? -r : r;
        });
        rows.forEach(function (r, i) {
          r.classList.toggle('more', i >= SHOWN);
          body.appendChild(r);
        });
      });
    });
  });
  document.querySelectorAll('button.show-all').forEach(function (b) {
    b.addEventListener('click', function () {
      b.parentNode.previousElementSibling.classList.remove('cut');
      b.parentNode.remove();
    });
  });
  var charts = document.querySelectorAll('svg.chart').length;
  var flames = document.querySelectorAll('canvas#flame-canvas[data-drawn]').length;
  document.body.setAttribute('data-ready', '1');
  document.body.setAttribute('data-ready-ms', String(Math.round(performance.now())));
  // rendered: the first frame after the scripts, style, layout and paint done
  requestAnimationFrame(function () {
    setTimeout(function () {
      document.body.setAttribute('data-rendered-ms', String(Math.round(performance.now())));
    }, 0);
  });
  console.log('memtype report ready: ' + tables.length + ' tables, ' + charts + ' charts, ' +
              flames + ' flame graph' + (flames === 1 ? '' : 's'));
})();
"""


def _e(s):
    return html.escape(str(s), quote=True)


def _k(n):
    return "%dK" % ((n + 1023) // 1024)


def bar_chart(title, items, unit=_k, width=760):
    """A horizontal bar chart as inline SVG: items are (label, value)."""
    items = [(label, v) for label, v in items if v > 0][:15]
    if not items:
        return '<p class="muted">%s: nothing to show.</p>' % _e(title)
    top = max(v for _, v in items)
    lw, bh = 330, 18
    h = 24 + bh * len(items)
    out = ['<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'viewBox="0 0 %d %d" role="img" aria-label="%s"><text x="0" y="14" '
           'font-weight="bold">%s</text>' % (width, h, width, h, _e(title), _e(title))]
    for i, (label, v) in enumerate(items):
        y = 22 + i * bh
        w = max(1, int((width - lw - 80) * v / top))
        short = label if len(label) <= 44 else label[:43] + "\u2026"
        out.append('<text x="0" y="%d">%s<title>%s</title></text>' % (y + 12, _e(short), _e(label)))
        out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="#4a7bb7"><title>%s: %s'
                   '</title></rect>' % (lw, y + 2, w, bh - 4, _e(label), _e(unit(v))))
        out.append('<text x="%d" y="%d">%s</text>' % (lw + w + 6, y + 12, _e(unit(v))))
    out.append("</svg>")
    return "".join(out)


COLORS = ("#4a7bb7", "#d9822b", "#5aa469", "#b54a4a", "#8a62b5", "#2f9ea0", "#b0b0b0")


def _human(n):
    for unit, k in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= k:
            return "%.1f %s" % (n / k, unit)
    return "%d B" % n


def timeline_chart(tl, width=760, height=220):
    """Memory in use over time as inline SVG (model.ProcessTimeline): the
    top types stacked as steps (a value holds until the next snapshot),
    every other type on top in grey, the peak marked, a legend below."""
    n = len(tl.times_ns)
    top = max(tl.totals or [0])
    title = "Memory in use over time: %s" % tl.process.title
    if n == 0 or top == 0:
        why = "written with MEMTYPE_TIMELINE=0" if tl.peak else "format 1.8 on"
        return '<p class="muted">%s: no timeline in this dump (%s).</p>' % (_e(title), why)
    left, right, y0 = 70, width - 10, 24
    plot_h = height - y0 - 24
    t0, t1 = tl.times_ns[0], max(tl.times_ns[-1], tl.times_ns[0] + 1)

    def x(t):
        return left + (right - left) * (t - t0) / (t1 - t0)

    def y(v):
        return y0 + plot_h - plot_h * v / top
    layers = [(s.label, s.values) for s in tl.series] + [("every other type", tl.other)]
    legend_h = 18 * len(layers)
    total_h = height + legend_h
    out = ['<svg class="chart timeline" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'viewBox="0 0 %d %d" role="img" aria-label="%s"><text x="0" y="14" '
           'font-weight="bold">%s</text>' % (width, total_h, width, total_h, _e(title), _e(title))]
    base = [0] * n
    for k, (label, values) in enumerate(layers):
        upper = [base[i] + values[i] for i in range(n)]
        pts = []
        for i in range(n):   # the upper edge, as steps
            xe = x(tl.times_ns[i + 1]) if i + 1 < n else right
            pts += ["%.1f,%.1f" % (x(tl.times_ns[i]), y(upper[i])), "%.1f,%.1f" % (xe, y(upper[i]))]
        for i in range(n - 1, -1, -1):   # the lower edge back
            xe = x(tl.times_ns[i + 1]) if i + 1 < n else right
            pts += ["%.1f,%.1f" % (xe, y(base[i])), "%.1f,%.1f" % (x(tl.times_ns[i]), y(base[i]))]
        color = COLORS[k] if k < len(tl.series) else COLORS[-1]
        out.append('<polygon points="%s" fill="%s" stroke="none"><title>%s (most %s)</title>'
                   '</polygon>' % (" ".join(pts), color, _e(label),
                                   _e(_human(max(values or [0])))))
        base = upper
    out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>' % (left, y0, left, y0 + plot_h))
    out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>'
               % (left, y0 + plot_h, right, y0 + plot_h))
    out.append('<text x="%d" y="%d" text-anchor="end">%s</text>' % (left - 4, y0 + 10, _e(_human(top))))
    out.append('<text x="%d" y="%d" text-anchor="end">0</text>' % (left - 4, y0 + plot_h))
    out.append('<text x="%d" y="%d">%.3f s</text>' % (left, y0 + plot_h + 16, t0 / 1e9))
    out.append('<text x="%d" y="%d" text-anchor="end">%.3f s</text>'
               % (right, y0 + plot_h + 16, tl.times_ns[-1] / 1e9))
    if tl.peak is not None and t0 <= tl.peak.time_ns <= t1:
        px = x(tl.peak.time_ns)
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#000" stroke-dasharray="3,3">'
                   '<title>peak: %s</title></line>' % (px, y0, px, y0 + plot_h,
                                                       _e(_human(tl.peak.bytes))))
    for k, (label, values) in enumerate(layers):
        ly = height + 18 * k
        color = COLORS[k] if k < len(tl.series) else COLORS[-1]
        out.append('<rect x="0" y="%d" width="12" height="12" fill="%s"/><text x="18" y="%d">%s'
                   '</text>' % (ly, color, ly + 11, _e("%s (most %s)" % (
                       label if len(label) <= 90 else label[:89] + "\u2026",
                       _human(max(values or [0]))))))
    out.append("</svg>")
    return "".join(out)


def peak_table(pp):
    """The peak's rows (model.ProcessPeak) as a table."""
    if pp.peak is None:
        return '<p class="muted">%s: no peak in this dump (format 1.8 on).</p>' % _e(pp.process.title)
    head = '<p>Peak of %s: <b>%s</b> (%d bytes) at %.3f s, %s.</p>' % (
        _e(pp.process.title), _e(_human(pp.peak.bytes)), pp.peak.bytes, pp.peak.time_ns / 1e9,
        "exact (one thread)" if pp.peak.exact else
        "%d threads: a lower bound (docs/format.md, PEAK)" % pp.peak.threads)
    return head + _table(["Type", "At peak", "% of peak", "Blocks", "Own high-water"],
                         [(r.label, (_k(r.bytes), r.bytes), ("%.1f%%" % r.percent, r.percent),
                           r.blocks, ("-", -1) if r.high is None else
                           (("" if r.high_exact else ">=") + _k(r.high), r.high))
                          for r in pp.rows])


class Stack:
    """A table cell: a stack's symbolized lines (symbolize.stack_lines),
    collapsed to its first frame, a click on which shows the rest; it sorts
    by that first frame."""

    def __init__(self, lines):
        self.lines = list(lines)
        self.label = self.lines[0] if self.lines else ""

    def html(self):
        if len(self.lines) < 2:
            return _e(self.label)
        return '<details><summary>%s</summary><pre>%s</pre></details>' % (
            _e(self.label), _e("\n".join(self.lines[1:])))


# Rows a table shows until "Show all" is pressed: laying out gcc's 7,000
# call sites takes Chromium seconds; hidden rows (display:none) cost none.
SHOWN_ROWS = 200


def _table(headers, rows, cls=""):
    rows = list(rows)
    cut = len(rows) > SHOWN_ROWS
    out = ['<table class="sortable%s%s"><thead><tr>' % (" " + cls if cls else "",
                                                         " cut" if cut else "")]
    kinds = [isinstance(c, Stack) for c in rows[0]] if rows else []
    out += ['<th%s>%s</th>' % (' class="stack"' if i < len(kinds) and kinds[i] else "", _e(h))
            for i, h in enumerate(headers)]
    out.append("</tr></thead><tbody>")
    for i, row in enumerate(rows):
        out.append('<tr class="more">' if i >= SHOWN_ROWS else "<tr>")
        for cell in row:
            if isinstance(cell, Stack):
                out.append('<td class="stack" data-v="%s">%s</td>' % (_e(cell.label),
                                                                       cell.html()))
            elif isinstance(cell, tuple):  # (shown, sort value)
                out.append('<td data-v="%s">%s</td>' % (_e(cell[1]), _e(cell[0])))
            else:
                out.append("<td>%s</td>" % _e(cell))
        out.append("</tr>")
    out.append("</tbody></table>")
    if cut:
        out.append('<p><button type="button" class="show-all">Show all %d rows</button> '
                   '<span class="muted">(the first %d are shown, in the order of the column '
                   'last sorted)</span></p>' % (len(rows), SHOWN_ROWS))
    return "".join(out)


def render(dumps, rows_of, no_symbolize=False):
    """The page for these dumps. rows_of(group) gives the vmstat -m rows of a
    group of dumps (model.merge_types)."""
    from .model import errors_of, leaks_of
    progs = ", ".join("%s (pid %d, %s)" % (program_name(d), d.pid, d.reason)
                      for d in dumps)
    body = ["<h1>memtype report</h1>",
            '<p class="muted">%s &middot; made %s</p>' % (_e(progs), _e(time.strftime("%Y-%m-%d %H:%M")))]
    progress.note("the page: types")
    rows = rows_of(dumps)
    inuse = sorted(((r.label, r.in_use_bytes) for r in rows), key=lambda x: -x[1])
    reqs = sorted(((r.label, r.allocs) for r in rows), key=lambda x: -x[1])
    body.append("<h2>Types</h2>")
    body.append(bar_chart("Memory in use, by type (top 15)", inuse))
    body.append(bar_chart("Allocations, by type (top 15)", reqs, unit=str))
    table, _ = formats.waste_rows(dumps)
    if any(d.waste is not None for d in dumps):
        body.append(bar_chart("Waste by size class (bytes handed out beyond the rounded request)",
                              sorted((("%d B" % s, n * (r - s)) for s, n, r in table),
                                     key=lambda x: -x[1]), unit=lambda v: "%d B" % v))
    body.append(_table(
        ["Type", "InUse", "MemUse", "HighUse", "Requests", "Bytes requested", "Waste",
         "Size(s)"],
        [(r.label, r.in_use, (_k(r.in_use_bytes), r.in_use_bytes),
          ("-", -1) if r.high_use is None else (_k(r.high_use), r.high_use), r.allocs,
          r.bytes_alloc, r.waste,
          (",".join(sorted(r.sizes, key=lambda s: (0, int(s)) if s.isdigit() else (1, s))), 0))
         for r in rows]))
    timed = [d for d in dumps if getattr(d, "timeline", None)][:4]
    if timed:
        from .model import peak_of, timeline_of
        progress.note("the page: timeline")
        body.append("<h2>Memory over time</h2>")
        for d in timed:
            body.append(timeline_chart(timeline_of(d, no_symbolize)))
            body.append(peak_table(peak_of(d, no_symbolize, 30)))
    body.append("<h2>Allocations by stack</h2>")
    body.append(flame.section(dumps, no_symbolize))
    # Leaks: every record, each with its whole allocation stack
    body.append("<h2>Leaks</h2>")
    leak_rows, by_kind = [], {}
    for d in dumps:
        pl = leaks_of(d, no_symbolize, lines=0, reachable=True)
        if not pl.scanned:
            continue
        for k, (b, n) in pl.totals.items():
            by_kind[k] = by_kind.get(k, 0) + b
        for leak in pl.leaks:
            r = leak.record
            leak_rows.append((leak.label, r.kind, r.bytes, r.blocks,
                              Stack(symbolize.stack_lines(d, leak.stack, pl.frames)),
                              pl.process.program))
    if by_kind:
        body.append(bar_chart("Bytes by leak kind", sorted(by_kind.items(), key=lambda x: -x[1]),
                              unit=lambda v: "%d B" % v))
        lost = {}
        for label, kind, b, _, _, _ in leak_rows:
            if kind != "still reachable":
                lost[label] = lost.get(label, 0) + b
        body.append(bar_chart("Bytes lost, by call site", sorted(lost.items(), key=lambda x: -x[1]),
                              unit=lambda v: "%d B" % v))
        body.append(_table(["Type", "Kind", "Bytes", "Blocks", "Allocated at", "Program"],
                           leak_rows, "stacks leaks"))
    else:
        body.append('<p class="muted">No leak scan in these dumps.</p>')
    # Errors: where each was detected (from the faulting instruction for a
    # fault), where its block was allocated and freed
    body.append("<h2>Heap errors</h2>")
    errs = []
    for d in dumps:
        pe = errors_of(d, no_symbolize, lines=0)
        for err in pe.errors:
            e = err.event
            where = ("%d bytes %s a %d-byte block of type %s" % (
                err.distance, err.relation, e.size, err.block_label), e.size) \
                if err.relation else ("in no block", -1)
            errs.append(("%s%s" % (e.kind, " " + e.access if e.access else ""),
                         "%#x" % e.addr, where, Stack(pe.access_lines(err)),
                         Stack(pe.lines(err.alloc_stack)), Stack(pe.lines(err.free_stack)),
                         pe.process.program))
    body.append(_table(["Kind", "Address", "Where", "Detected at", "Allocated at", "Freed at",
                        "Program"], errs, "stacks errors")
                if errs else '<p class="muted">None reported.</p>')
    note = symbolize.notes()
    if note:
        body.append('<p class="muted">%s</p>' % _e(note))
    csp = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
           "img-src data:")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"%s\">"
            "<title>memtype report: %s</title><style>%s</style></head><body>%s"
            "<script>%s%s</script></body></html>\n"
            % (csp, _e(progs), _CSS, "\n".join(body), flame.JS, _JS % SHOWN_ROWS))

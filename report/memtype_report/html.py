"""`memtype report --html OUT`: one self-contained page (no network: the
styles, the script and the charts are inline; a Content-Security-Policy
forbids anything else) with sortable tables and SVG charts of the types
holding most memory, the most frequent allocations, the leaks by kind and
call site, and the heap errors."""
import html
import os
import time

from . import formats, symbolize

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}
th:first-child,td:first-child{text-align:left;font-family:monospace}
th{cursor:pointer;background:#f4f4f4;position:sticky;top:0}
th.sorted-asc::after{content:" \\25B2"}th.sorted-desc::after{content:" \\25BC"}
.chart text{font:12px monospace}.muted{color:#777}pre{background:#f8f8f8;padding:8px}
"""

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
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  var charts = document.querySelectorAll('svg.chart').length;
  document.body.setAttribute('data-ready', '1');
  console.log('memtype report ready: ' + tables.length + ' tables, ' + charts + ' charts');
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
           'role="img" aria-label="%s"><text x="0" y="14" font-weight="bold">%s</text>'
           % (width, h, _e(title), _e(title))]
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


def _table(headers, rows):
    out = ['<table class="sortable"><thead><tr>']
    out += ["<th>%s</th>" % _e(h) for h in headers]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>")
        for cell in row:
            if isinstance(cell, tuple):  # (shown, sort value)
                out.append('<td data-v="%s">%s</td>' % (_e(cell[1]), _e(cell[0])))
            else:
                out.append("<td>%s</td>" % _e(cell))
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def render(dumps, rows_of, no_symbolize=False):
    from .model import type_label
    """The page for these dumps. rows_of(group) gives the vmstat -m rows of a
    group of dumps (model.merge_types)."""
    progs = ", ".join("%s (pid %d, %s)" % (os.path.basename(d.exe) or "?", d.pid, d.reason)
                      for d in dumps)
    body = ["<h1>memtype report</h1>",
            '<p class="muted">%s &middot; made %s</p>' % (_e(progs), _e(time.strftime("%Y-%m-%d %H:%M")))]
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
    # Leaks
    body.append("<h2>Leaks</h2>")
    leak_rows, by_kind = [], {}
    for d in dumps:
        if d.leaks is None:
            continue
        by_id = {t.id: t for t in d.types}
        pcs = sorted({pc for r in d.leaks.records for pc in (by_id[r.type].pcs if r.type in by_id else [])})
        names = {} if no_symbolize else symbolize.names(d, pcs)
        for k, (b, n) in d.leaks.totals.items():
            by_kind[k] = by_kind.get(k, 0) + b
        for r in d.leaks.records:
            label = type_label(d, r.type, names)
            leak_rows.append((label, r.kind, r.bytes, r.blocks, os.path.basename(d.exe) or "?"))
    if by_kind:
        body.append(bar_chart("Bytes by leak kind", sorted(by_kind.items(), key=lambda x: -x[1]),
                              unit=lambda v: "%d B" % v))
        lost = {}
        for label, kind, b, _, _ in leak_rows:
            if kind != "still reachable":
                lost[label] = lost.get(label, 0) + b
        body.append(bar_chart("Bytes lost, by call site", sorted(lost.items(), key=lambda x: -x[1]),
                              unit=lambda v: "%d B" % v))
        body.append(_table(["Type", "Kind", "Bytes", "Blocks", "Program"], leak_rows))
    else:
        body.append('<p class="muted">No leak scan in these dumps.</p>')
    # Errors
    body.append("<h2>Heap errors</h2>")
    errs = []
    for d in dumps:
        pcs = sorted({pc for e in d.errors for pc in e.frames[:1] if pc})
        names = {} if no_symbolize else symbolize.names(d, pcs)
        for e in d.errors:
            errs.append(("%s%s" % (e.kind, " " + e.access if e.access else ""),
                         "%#x" % e.addr, e.size if e.block else "",
                         names.get(e.frames[0], "%#x" % e.frames[0]) if e.frames else "",
                         os.path.basename(d.exe) or "?"))
    body.append(_table(["Kind", "Address", "Block size", "Detected at", "Program"], errs)
                if errs else '<p class="muted">None reported.</p>')
    note = symbolize.notes()
    if note:
        body.append('<p class="muted">%s</p>' % _e(note))
    csp = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
           "img-src data:")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"%s\">"
            "<title>memtype report: %s</title><style>%s</style></head><body>%s"
            "<script>%s</script></body></html>\n"
            % (csp, _e(progs), _CSS, "\n".join(body), _JS))

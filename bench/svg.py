"""svg.py - the two chart shapes the benchmark report needs, as hand-written SVG
(Python standard library only; no plotting package).

ratio_bars(): one row per tool, one bar per workload (plus the geometric mean),
bars drawn from 1.0 on a log scale so that 0.5x and 2x are the same length.
line_chart(): one line per tool over a sweep, log x when the sweep is geometric,
log y when the values span more than a factor of 20.
Both return the SVG text; the caller writes it."""

import math
from xml.sax.saxutils import escape

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
           "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
FONT = 'font-family="DejaVu Sans, Arial, Helvetica, sans-serif"'


def _fmt_num(v):
    if v == 0:
        return "0"
    if abs(v) >= 1e6:
        return "%gM" % float("%.3g" % (v / 1e6))
    if abs(v) >= 1e4:
        return "%gk" % float("%.3g" % (v / 1e3))
    if abs(v) >= 1000:
        return "%g" % v
    if abs(v) >= 1:
        return "%g" % round(v, 2)
    return "%g" % float("%.2g" % v)


def _log_ticks(lo, hi):
    """1-2-5 ticks between lo and hi (both > 0)."""
    ticks = []
    e = math.floor(math.log10(lo))
    while 10 ** e <= hi * 1.0001:
        for m in (1, 2, 5):
            t = m * 10 ** e
            if lo * 0.9999 <= t <= hi * 1.0001:
                ticks.append(t)
        e += 1
    if len(ticks) > 10:
        ticks = [t for t in ticks if abs(math.log10(t) - round(math.log10(t))) < 1e-9] or ticks
    return ticks


def _lin_ticks(hi):
    if hi <= 0:
        return [0, 1]
    step = 10 ** math.floor(math.log10(hi))
    for m in (1, 2, 5, 10):
        if hi / (step * m) <= 6:
            step *= m
            break
    n = int(math.ceil(hi / step - 1e-9))
    return [i * step for i in range(n + 1)]


class _Svg:
    def __init__(self, w, h):
        self.w, self.h = w, h
        self.parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
                      'viewBox="0 0 %d %d" %s font-size="12">' % (w, h, w, h, FONT),
                      '<rect x="0" y="0" width="%d" height="%d" fill="white"/>' % (w, h)]

    def add(self, s):
        self.parts.append(s)

    def text(self, x, y, s, anchor="start", size=None, weight=None, fill="#222", rotate=None,
             baseline=None):
        attrs = 'x="%.1f" y="%.1f" text-anchor="%s" fill="%s"' % (x, y, anchor, fill)
        if size:
            attrs += ' font-size="%s"' % size
        if weight:
            attrs += ' font-weight="%s"' % weight
        if baseline:
            attrs += ' dominant-baseline="%s"' % baseline
        if rotate is not None:
            attrs += ' transform="rotate(%d %.1f %.1f)"' % (rotate, x, y)
        self.add("<text %s>%s</text>" % (attrs, escape(str(s))))

    def line(self, x1, y1, x2, y2, stroke="#888", width=1, dash=None):
        d = ' stroke-dasharray="%s"' % dash if dash else ""
        self.add('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%s"%s/>'
                 % (x1, y1, x2, y2, stroke, width, d))

    def rect(self, x, y, w, h, fill, stroke=None):
        s = ' stroke="%s"' % stroke if stroke else ""
        self.add('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"%s/>'
                 % (x, y, max(w, 0.5), h, fill, s))

    def done(self):
        return "\n".join(self.parts + ["</svg>"]) + "\n"


def ratio_bars(title, subtitle, rows, series, note=""):
    """rows: [(tool_label, {series_name: value_or_None}, {series_name: failure_text})];
    series: ordered series names (workloads, then e.g. 'geo mean', drawn black)."""
    vals = [v for _, d, _ in rows for v in d.values() if v]
    lo = min([0.5] + vals) / 1.25
    hi = max([2.0] + vals) * 1.25
    label_w = max(200, 7 * max(len(r[0]) for r in rows) + 20) if rows else 200
    right = 40
    width = 720 + label_w
    bar_h, gap = 9, 14
    row_h = bar_h * len(series) + gap
    top = 70
    legend_h = 30
    height = top + row_h * len(rows) + 40 + legend_h + (18 if note else 0)
    sv = _Svg(width, height)
    x0, x1 = label_w, width - right

    def X(v):
        return x0 + (math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo)) * (x1 - x0)

    sv.text(width / 2, 22, title, anchor="middle", size=16, weight="bold")
    sv.text(width / 2, 42, subtitle, anchor="middle", size=12, fill="#555")
    plot_bottom = top + row_h * len(rows)
    for t in _log_ticks(lo, hi):
        sv.line(X(t), top - 6, X(t), plot_bottom, stroke="#e3e3e3")
        sv.text(X(t), plot_bottom + 16, _fmt_num(t) + "\u00d7", anchor="middle", size=11, fill="#444")
    sv.line(X(1), top - 8, X(1), plot_bottom, stroke="#333", width=1.5)
    sv.text(X(1), top - 12, "glibc = 1", anchor="middle", size=11, fill="#333")
    colors = {s: (PALETTE[i % len(PALETTE)] if s != series[-1] else "#222")
              for i, s in enumerate(series)}
    for r, (label, d, fails) in enumerate(rows):
        y = top + r * row_h
        if r % 2:
            sv.rect(4, y - gap / 2 + 2, width - 8, row_h, "#f6f6f6")
        sv.text(label_w - 10, y + row_h / 2 - 2, label, anchor="end", baseline="middle", size=12)
        for k, s in enumerate(series):
            yy = y + k * bar_h
            v = d.get(s)
            if v:
                a, b = sorted((X(1), X(v)))
                sv.rect(a, yy, b - a, bar_h - 1.5, colors[s])
                tx = X(v) + 4 if v >= 1 else X(v) - 4
                sv.text(tx, yy + bar_h - 2, _fmt_num(float("%.3g" % v)), anchor="start" if v >= 1 else "end",
                        size=9, fill="#333")
            elif fails.get(s):
                sv.text(X(1) + 4, yy + bar_h - 2, fails[s], size=9, fill="#b00")
    # legend
    ly = plot_bottom + 36
    lx = x0
    for s in series:
        sv.rect(lx, ly - 9, 12, 10, colors[s])
        sv.text(lx + 16, ly, s, size=12)
        lx += 24 + 8 * len(s) + 20
    if note:
        sv.text(12, height - 8, note, size=10, fill="#666")
    return sv.done()


def line_chart(title, subtitle, xlabel, ylabel, series, logx=True, logy=None, xfmt=None,
               xticks=None, note=""):
    """series: ordered [(name, [(x, y_or_None), ...])]; a None y leaves a gap.
    xfmt formats x tick labels; xticks defaults to every x of the first series."""
    xfmt = xfmt or _fmt_num
    pts = [(x, y) for _, s in series for x, y in s if y is not None and y > 0]
    width, height = 760, 460 + (16 if note else 0)
    left, right, top, bottom = 80, 170, 64, 60 + (16 if note else 0)
    sv = _Svg(width, height)
    sv.text((left + width - right) / 2, 22, title, anchor="middle", size=16, weight="bold")
    sv.text((left + width - right) / 2, 42, subtitle, anchor="middle", size=12, fill="#555")
    x0, x1, y0, y1 = left, width - right, height - bottom, top
    if not pts:
        sv.text(width / 2, height / 2, "no data", anchor="middle")
        return sv.done()
    xs = sorted({x for _, s in series for x, _ in s})
    xticks = xticks or xs
    xlo, xhi = min(xs), max(xs)
    ys = [y for _, y in pts]
    if logy is None:
        logy = max(ys) / min(ys) > 20
    if logy:
        ylo = 10 ** math.floor(math.log10(min(ys)))
        yhi = 10 ** math.ceil(math.log10(max(ys)))
        if yhi / ylo < 10:
            yhi = ylo * 10
        yt = _log_ticks(ylo, yhi)
    else:
        yt = _lin_ticks(max(ys) * 1.08)
        ylo, yhi = 0, yt[-1]

    def X(x):
        if xhi == xlo:
            return (x0 + x1) / 2
        if logx:
            return x0 + (math.log(x) - math.log(xlo)) / (math.log(xhi) - math.log(xlo)) * (x1 - x0)
        return x0 + (x - xlo) / (xhi - xlo) * (x1 - x0)

    def Y(y):
        if logy:
            return y0 - (math.log(y) - math.log(ylo)) / (math.log(yhi) - math.log(ylo)) * (y0 - y1)
        return y0 - (y - ylo) / (yhi - ylo) * (y0 - y1)

    for t in yt:
        sv.line(x0, Y(t), x1, Y(t), stroke="#e6e6e6")
        sv.text(x0 - 6, Y(t) + 4, _fmt_num(t), anchor="end", size=11, fill="#444")
    last = -1e9
    for t in xticks:
        sv.line(X(t), y0, X(t), y1, stroke="#f0f0f0")
        sv.line(X(t), y0, X(t), y0 + 4, stroke="#444")
        label = xfmt(t)
        if X(t) - last >= 5.6 * len(label) + 8:  # skip labels that would overlap
            sv.text(X(t), y0 + 18, label, anchor="middle", size=11, fill="#444")
            last = X(t)
    sv.line(x0, y0, x1, y0, stroke="#444")
    sv.line(x0, y0, x0, y1, stroke="#444")
    sv.text((x0 + x1) / 2, y0 + 40, xlabel + (" (log scale)" if logx else ""), anchor="middle", size=12)
    sv.text(18, (y0 + y1) / 2, ylabel + (" (log scale)" if logy else ""), anchor="middle", size=12,
            rotate=-90)
    for i, (name, s) in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        seg = []
        segs = []
        for x, y in s:
            if y is None or y <= 0:
                if seg:
                    segs.append(seg)
                seg = []
            else:
                seg.append((X(x), Y(y)))
        if seg:
            segs.append(seg)
        for g in segs:
            if len(g) > 1:
                sv.add('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>'
                       % (color, " ".join("%.1f,%.1f" % p for p in g)))
            for px, py in g:
                sv.add('<circle cx="%.1f" cy="%.1f" r="3.2" fill="%s"/>' % (px, py, color))
        ly = y1 + 10 + i * 22
        sv.line(x1 + 16, ly, x1 + 40, ly, stroke=color, width=2.5)
        sv.add('<circle cx="%.1f" cy="%.1f" r="3.2" fill="%s"/>' % (x1 + 28, ly, color))
        sv.text(x1 + 46, ly + 4, name, size=12)
    if note:
        sv.text(12, height - 8, note, size=10, fill="#666")
    return sv.done()

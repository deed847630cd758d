"""The HTML page's flame graph: an icicle (callers on top) of allocations by
call-site stack, from formats.stacks() (the stacks --folded prints), drawn
on a canvas by an inline script. Five weights (bytes allocated,
allocations, bytes in use at the dump, bytes leaked, bytes in use at the
heap's peak), a search that
highlights matching frames and sums their weight, click to zoom, reset.
The data travel as JSON in a non-executed <script> block: names once in a
table, each stack as indices into it."""
import json

from . import formats, progress

# (key of formats.stacks() weights, label, unit) in the order of the data
WEIGHTS = (("bytes", "bytes allocated", "B"), ("allocs", "allocations", ""),
           ("inuse", "bytes in use", "B"), ("leaks", "bytes leaked", "B"),
           ("peak", "bytes in use at the peak", "B"))


def data(dumps, no_symbolize=False):
    """{"weights": [[key, label, unit]...], "names": [...], "stacks":
    [[[name index, ...], w0, w1, w2, w3]...]}: the stacks of every dump,
    equal stacks summed."""
    names, index, acc = [], {}, {}
    for frames, w in formats.stacks(dumps, no_symbolize):
        key = []
        for n in frames:
            i = index.get(n)
            if i is None:
                i = index[n] = len(names)
                names.append(n)
            key.append(i)
        key = tuple(key)
        row = acc.setdefault(key, [0] * len(WEIGHTS))
        for j, (k, _, _) in enumerate(WEIGHTS):
            row[j] += max(0, w[k])
    return {"weights": [list(w) for w in WEIGHTS], "names": names,
            "stacks": [[list(k)] + v for k, v in sorted(acc.items())]}


def _json_for_html(doc):
    # "</script>" or "<!--" inside a name must not end or confuse the block
    return json.dumps(doc, separators=(",", ":")).replace("<", "\\u003c").replace(
        ">", "\\u003e").replace("&", "\\u0026")


def section(dumps, no_symbolize=False):
    """The flame graph's HTML (controls, canvas, data) without its script."""
    progress.note("the page: flame graph")
    doc = data(dumps, no_symbolize)
    opts = "".join('<option value="%d">%s</option>' % (i, label)
                   for i, (_, label, _) in enumerate(WEIGHTS))
    return ('<div id="flame" class="flame">'
            '<div class="flame-bar"><label>Weight <select id="flame-weight">%s</select></label> '
            '<input id="flame-search" type="search" placeholder="search frames (text or /regexp/)"'
            ' aria-label="search frames"> <button id="flame-reset" type="button">Reset zoom'
            '</button> <span id="flame-match" class="muted"></span></div>'
            '<canvas id="flame-canvas" aria-label="flame graph of allocations by stack">'
            '</canvas><div id="flame-info" class="flame-info muted">Hover a frame for its '
            'weight; click it to zoom in, click a frame above it to zoom out.</div>'
            '<script type="application/json" id="flame-data">%s</script></div>'
            % (opts, _json_for_html(doc)))


CSS = """
.flame-bar{margin:6px 0}.flame-bar input{width:22em}
#flame-canvas{display:block;width:100%;cursor:pointer}
.flame-info{font:12px monospace;min-height:2.8em;overflow-wrap:anywhere}
"""

# The icicle: the trie of stacks (one node per distinct prefix) is built
# once; each draw lays the zoomed node and its ancestors over the full width
# and its descendants in proportion to the chosen weight, heaviest first,
# skipping what is narrower than half a pixel. The canvas's data-* attributes
# carry the state (weight, zoomed frame path, matched weight, frames drawn)
# for tests and for anyone reading the DOM.
JS = r"""
(function () {
  var box = document.getElementById('flame');
  if (!box) return;
  var doc = JSON.parse(document.getElementById('flame-data').textContent);
  var canvas = document.getElementById('flame-canvas');
  var ctx = canvas.getContext('2d');
  var sel = document.getElementById('flame-weight');
  var search = document.getElementById('flame-search');
  var info = document.getElementById('flame-info');
  var matchOut = document.getElementById('flame-match');
  var NW = doc.weights.length, ROW = 18;
  function mk(name, parent) {
    return {n: name, p: parent, k: {}, c: [], v: new Array(NW).fill(0),
            d: parent ? parent.d + 1 : 0};
  }
  var root = mk(-1, null), maxDepth = 0;
  doc.stacks.forEach(function (s) {
    var node = root, path = s[0], j;
    for (j = 0; j < NW; j++) root.v[j] += s[1 + j];
    path.forEach(function (ix) {
      var ch = node.k[ix];
      if (!ch) { ch = node.k[ix] = mk(ix, node); node.c.push(ch); }
      for (j = 0; j < NW; j++) ch.v[j] += s[1 + j];
      node = ch;
    });
    if (node.d > maxDepth) maxDepth = node.d;
  });
  function name(node) {
    return node.n < 0 ? 'all (' + root.c.length + ' program' + (root.c.length === 1 ? ')' : 's)')
                      : doc.names[node.n];
  }
  function fmt(v, unit) {
    if (unit !== 'B') return String(v);
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return (i ? v.toFixed(1) : String(v)) + ' ' + u[i];
  }
  function pathOf(node) {
    var out = [];
    for (; node && node.p; node = node.p) out.unshift(doc.names[node.n]);
    return out.join(';');
  }
  var w = 0, zoom = root, matcher = null, rows = [], drawnWidth = 0;
  for (w = 0; w < NW && !root.v[w]; w++) {}
  if (w === NW) w = 0;
  for (var i = 0; i < NW; i++) {
    sel.options[i].disabled = !root.v[i];
    sel.options[i].text += root.v[i] ? '' : ' (none)';
  }
  sel.value = String(w);
  function sortAll(node) {
    node.c.sort(function (a, b) { return b.v[w] - a.v[w] || (doc.names[a.n] < doc.names[b.n] ? -1 : 1); });
    node.c.forEach(sortAll);
  }
  function hue(s) {
    var h = 0;
    for (var i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
    return h;
  }
  function color(node, hit) {
    if (node === root) return '#c8c8c8';
    if (hit) return '#d04fc8';
    var h = hue(doc.names[node.n]);
    var c = 'hsl(' + (10 + ((h >>> 0) % 40)) + ',' + (70 + ((h >>> 8) % 20)) + '%,' +
            (58 + ((h >>> 16) % 12)) + '%)';
    return matcher ? 'hsl(0,0%,' + (80 + ((h >>> 16) % 8)) + '%)' : c;
  }
  function matches(node) {
    return node !== root && matcher !== null && matcher(doc.names[node.n]);
  }
  function draw() {
    var css = canvas.clientWidth || 800, dpr = window.devicePixelRatio || 1;
    drawnWidth = css;
    var depth = 0, total = zoom.v[w], charW, drawn = 0, matched = 0;
    rows = [];
    (function deepest(node) {
      if (node.d > depth) depth = node.d;
      node.c.forEach(function (c) { if (c.v[w] > 0 && c.v[w] * css >= total * 0.5) deepest(c); });
    })(zoom);
    var h = (depth + 1) * ROW;
    canvas.width = Math.round(css * dpr);
    canvas.height = Math.round(h * dpr);
    canvas.style.height = h + 'px';
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, css, h);
    ctx.font = '12px monospace';
    ctx.textBaseline = 'middle';
    charW = ctx.measureText('M').width || 7;
    function frame(node, x, width, hit) {
      var y = node.d * ROW;
      ctx.fillStyle = color(node, hit);
      ctx.fillRect(x, y, Math.max(width - 1, 0.5), ROW - 1);
      (rows[node.d] = rows[node.d] || []).push({x: x, w: width, node: node});
      drawn++;
      var fit = Math.floor((width - 6) / charW);
      if (fit >= 3) {
        var label = name(node);
        if (label.length > fit) label = label.slice(0, fit - 1) + '\u2026';
        ctx.fillStyle = '#000';
        ctx.fillText(label, x + 3, y + ROW / 2);
      }
    }
    ctx.globalAlpha = 0.6;  // the zoomed frame's callers, faded
    for (var a = zoom.p; a; a = a.p) frame(a, 0, css, matches(a));
    ctx.globalAlpha = 1;
    frame(zoom, 0, css, matches(zoom));
    function under(node, x, inMatch) {
      var scale = css / (total || 1), cx = x;
      node.c.forEach(function (c) {
        var cw = c.v[w] * scale;
        if (c.v[w] <= 0) return;
        if (cw >= 0.5) {
          var hit = matches(c);
          if (hit && !inMatch) matched += c.v[w];
          frame(c, cx, cw, hit);
          under(c, cx, inMatch || hit);
        } else if (!inMatch && matcher) {
          matched += hiddenMatch(c);
        }
        cx += cw;
      });
    }
    function hiddenMatch(node) {  // a match too narrow to draw still counts
      if (matches(node)) return node.v[w];
      var s = 0;
      node.c.forEach(function (c) { s += hiddenMatch(c); });
      return s;
    }
    var zoomHit = false;
    for (var z = zoom; z; z = z.p) zoomHit = zoomHit || matches(z);
    if (zoomHit) matched = total;
    under(zoom, 0, zoomHit);
    var unit = doc.weights[w][2];
    canvas.setAttribute('data-weight', doc.weights[w][0]);
    canvas.setAttribute('data-zoom', pathOf(zoom));
    canvas.setAttribute('data-drawn', String(drawn));
    canvas.setAttribute('data-matched', matcher ? String(matched) : '');
    matchOut.textContent = matcher ? 'matched ' + fmt(matched, unit) + ' of ' + fmt(total, unit) +
      ' (' + (total ? (100 * matched / total).toFixed(1) : '0') + '%)' : '';
  }
  function at(ev) {
    // the canvas may have been stretched since the last draw (a scroll bar
    // came or went): x in the coordinates the frames were laid out in
    var r = canvas.getBoundingClientRect(), y = ev.clientY - r.top;
    var x = (ev.clientX - r.left) * (r.width ? drawnWidth / r.width : 1);
    var row = rows[Math.floor(y / ROW)] || [];
    for (var i = 0; i < row.length; i++)
      if (x >= row[i].x && x < row[i].x + row[i].w) return row[i].node;
    return null;
  }
  canvas.addEventListener('click', function (ev) {
    var node = at(ev);
    if (node && node !== zoom) { zoom = node; draw(); }
  });
  canvas.addEventListener('mousemove', function (ev) {
    var node = at(ev);
    if (!node) return;
    var unit = doc.weights[w][2];
    info.textContent = name(node) + ' \u2014 ' + fmt(node.v[w], unit) + ' ' +
      doc.weights[w][1].replace(/^bytes /, '') + ', ' +
      (root.v[w] ? (100 * node.v[w] / root.v[w]).toFixed(2) : '0') + '% of all';
  });
  sel.addEventListener('change', function () {
    w = +sel.value;
    sortAll(root);
    if (!zoom.v[w]) zoom = root;
    draw();
  });
  search.addEventListener('input', function () {
    var q = search.value, re = /^\/(.+)\/$/.exec(q);
    matcher = null;
    if (re) {
      try { var rx = new RegExp(re[1], 'i'); matcher = function (s) { return rx.test(s); }; }
      catch (e) { matcher = null; }
    } else if (q) {
      var lq = q.toLowerCase();
      matcher = function (s) { return s.toLowerCase().indexOf(lq) >= 0; };
    }
    draw();
  });
  document.getElementById('flame-reset').addEventListener('click', function () {
    zoom = root;
    draw();
  });
  if (window.ResizeObserver)
    new ResizeObserver(function () {
      if (canvas.clientWidth && canvas.clientWidth !== drawnWidth) draw();
    }).observe(canvas);
  else
    window.addEventListener('resize', draw);
  sortAll(root);
  draw();
  box.setAttribute('data-stacks', String(doc.stacks.length));
  box.setAttribute('data-depth', String(maxDepth));
})();
"""

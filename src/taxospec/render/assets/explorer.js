/* taxospec's dataset explorer: the embedding map, every example in a sortable table, and one example with
   its findings drawn on its picture. Plain JavaScript on a canvas, no library, nothing loaded from the
   network: the data is the JSON in #explorer-data. `window.taxospecExplorer` is for tests and
   benchmarks (what is drawn, how long it took, and the actions a person takes). */
(function () {
  'use strict';
  var PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#be185d', '#65a30d',
    '#4f46e5', '#b45309', '#0d9488', '#7c3aed', '#e11d48', '#15803d', '#c2410c', '#0369a1'];
  var ROW = 46, GRID = 24;
  var D, N, view, state, els = {};

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) { if (k === 'class') e.className = attrs[k]; else e.setAttribute(k, attrs[k]); }
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function fmt(v) { return v === null || v === undefined ? '' : (Math.round(v * 1000) / 1000).toString(); }
  function colorOf(i) { return i < 0 ? '#94a3b8' : PALETTE[i % PALETTE.length]; }

  // ---- data -------------------------------------------------------------------------------------------
  function load() {
    D = JSON.parse($('explorer-data').textContent);
    var e = D.examples;
    N = e.task.length;
    e.flags = e.flags || [];
    e.flagged = new Uint8Array(N);
    e.findingsOf = [];
    for (var i = 0; i < N; i++) { e.findingsOf.push(e.flags[i] || []); if ((e.flags[i] || []).length) e.flagged[i] = 1; }
    e.hasXY = new Uint8Array(N);
    for (i = 0; i < N; i++) if (e.x[i] !== null) e.hasXY[i] = 1;
    state = { colorBy: 'class', sort: null, desc: false, query: '', cls: -1, code: '', onlyFlagged: false,
      onlySelected: false, selected: new Set(), focus: -1, rows: null, score: '', below: true, bound: null };
    view = { scale: 1, dx: 0, dy: 0 };
  }

  // ---- the map ----------------------------------------------------------------------------------------
  var canvas, ctx, size = { w: 0, h: 0 }, grid = null, stats = { pointsDrawn: 0, drawMs: 0, loadMs: 0, selectMs: 0, sortMs: 0 };

  var bounds = { x0: 0, x1: 1, y0: 0, y1: 1 }, fit = { s: 1, ox: 0, oy: 0 };
  function fitMap() {
    var pad = 18, sx = Math.max(1e-6, bounds.x1 - bounds.x0), sy = Math.max(1e-6, bounds.y1 - bounds.y0);
    fit.s = Math.min((size.w - 2 * pad) / sx, (size.h - 2 * pad) / sy);
    fit.ox = (size.w - sx * fit.s) / 2 - bounds.x0 * fit.s;
    fit.oy = (size.h - sy * fit.s) / 2 - bounds.y0 * fit.s;
  }
  function toScreen(i) {
    var e = D.examples;
    return [(e.x[i] * fit.s + fit.ox) * view.scale + view.dx, (e.y[i] * fit.s + fit.oy) * view.scale + view.dy];
  }
  function fromScreen(px, py) {
    return [((px - view.dx) / view.scale - fit.ox) / fit.s, ((py - view.dy) / view.scale - fit.oy) / fit.s];
  }
  function colorIndex(i) {
    var e = D.examples;
    if (state.colorBy === 'class') return e.cls[i];
    if (state.colorBy === 'split') return e.split[i];
    return e.axes[state.colorBy] ? e.axes[state.colorBy][i] : -1;
  }
  function draw() {
    var t0 = performance.now(), e = D.examples, dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, size.w, size.h);
    var drawn = 0, shown = visibleSet(), r = N > 20000 ? 1.6 : N > 2000 ? 2.4 : N > 500 ? 3.5 : 5, p, q, i, j;
    var byColor = {};
    for (i = 0; i < N; i++) {
      if (!e.hasXY[i]) continue;
      var c = colorIndex(i);
      (byColor[c] = byColor[c] || []).push(i);
    }
    for (var key in byColor) {
      var list = byColor[key];
      for (j = 0; j < list.length; j++) {
        i = list[j];
        p = toScreen(i);
        if (p[0] < -4 || p[1] < -4 || p[0] > size.w + 4 || p[1] > size.h + 4) continue;
        ctx.globalAlpha = shown && !shown[i] ? 0.12 : 0.85;
        ctx.fillStyle = colorOf(+key);
        ctx.fillRect(p[0] - r / 2, p[1] - r / 2, r, r);
        drawn++;
      }
    }
    ctx.globalAlpha = 1;
    ctx.lineWidth = 1.2;
    for (i = 0; i < N; i++) {
      if (!e.hasXY[i] || !e.flagged[i] || (shown && !shown[i])) continue;
      p = toScreen(i);
      ctx.strokeStyle = '#0f172a';
      ctx.beginPath(); ctx.arc(p[0], p[1], r + 2.5, 0, 6.283); ctx.stroke();
    }
    state.selected.forEach(function (k) {
      if (!e.hasXY[k]) return;
      var s = toScreen(k);
      ctx.strokeStyle = '#f59e0b'; ctx.lineWidth = 2;
      ctx.strokeRect(s[0] - r - 3, s[1] - r - 3, 2 * r + 6, 2 * r + 6);
    });
    if (state.focus >= 0 && e.hasXY[state.focus]) {
      q = toScreen(state.focus);
      ctx.strokeStyle = '#dc2626'; ctx.lineWidth = 2.5;
      ctx.beginPath(); ctx.arc(q[0], q[1], r + 7, 0, 6.283); ctx.stroke();
      (e.nb[state.focus] || []).forEach(function (k) {
        var n = toScreen(k);
        ctx.strokeStyle = 'rgba(220,38,38,.5)'; ctx.lineWidth = 1;
        ctx.beginPath(); ctx.moveTo(q[0], q[1]); ctx.lineTo(n[0], n[1]); ctx.stroke();
      });
    }
    if (lasso.length > 1) {
      ctx.strokeStyle = '#0f172a'; ctx.setLineDash([4, 3]); ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(lasso[0][0], lasso[0][1]);
      for (j = 1; j < lasso.length; j++) ctx.lineTo(lasso[j][0], lasso[j][1]);
      ctx.closePath(); ctx.stroke(); ctx.setLineDash([]);
    }
    stats.pointsDrawn = drawn;
    stats.drawMs = performance.now() - t0;
  }
  function buildGrid() {
    var e = D.examples, first = true;
    grid = new Map();
    for (var i = 0; i < N; i++) {
      if (!e.hasXY[i]) continue;
      if (first) { bounds = { x0: e.x[i], x1: e.x[i], y0: e.y[i], y1: e.y[i] }; first = false; }
      bounds.x0 = Math.min(bounds.x0, e.x[i]); bounds.x1 = Math.max(bounds.x1, e.x[i]);
      bounds.y0 = Math.min(bounds.y0, e.y[i]); bounds.y1 = Math.max(bounds.y1, e.y[i]);
      var key = Math.floor(e.x[i] * GRID) * 1000 + Math.floor(e.y[i] * GRID);
      var cell = grid.get(key);
      if (cell) cell.push(i); else grid.set(key, [i]);
    }
  }
  function nearest(px, py) {
    var u = fromScreen(px, py), best = -1, bestD = 144, gx = Math.floor(u[0] * GRID), gy = Math.floor(u[1] * GRID);
    var reach = Math.max(1, Math.ceil(GRID * 12 / (view.scale * fit.s)));
    for (var a = gx - reach; a <= gx + reach; a++) for (var b = gy - reach; b <= gy + reach; b++) {
      var cell = grid.get(a * 1000 + b);
      if (!cell) continue;
      for (var j = 0; j < cell.length; j++) {
        var p = toScreen(cell[j]), d = (p[0] - px) * (p[0] - px) + (p[1] - py) * (p[1] - py);
        var preferred = best >= 0 && d <= bestD + 1 && D.examples.flagged[cell[j]] && !D.examples.flagged[best];
        if (d < bestD || preferred) { bestD = Math.min(d, bestD); best = cell[j]; }
      }
    }
    return best;
  }
  function inside(poly, x, y) {
    var hit = false;
    for (var i = 0, j = poly.length - 1; i < poly.length; j = i++) {
      var xi = poly[i][0], yi = poly[i][1], xj = poly[j][0], yj = poly[j][1];
      if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) hit = !hit;
    }
    return hit;
  }
  function selectPolygon(poly) {
    var t0 = performance.now(), e = D.examples;
    state.selected = new Set();
    var xs = poly.map(function (p) { return p[0]; }), ys = poly.map(function (p) { return p[1]; });
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs), y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    for (var i = 0; i < N; i++) {
      if (!e.hasXY[i]) continue;
      var p = toScreen(i);
      if (p[0] < x0 || p[0] > x1 || p[1] < y0 || p[1] > y1) continue;
      if (inside(poly, p[0], p[1])) state.selected.add(i);
    }
    state.onlySelected = state.selected.size > 0;
    els.onlySelected.checked = state.onlySelected;
    stats.selectMs = performance.now() - t0;
    refresh();
  }
  var lasso = [], drag = null;
  function setupMap() {
    canvas = $('map-canvas'); ctx = canvas.getContext('2d');
    function resize() {
      var box = canvas.parentElement.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
      var aspect = (bounds.y1 - bounds.y0) / Math.max(1e-6, bounds.x1 - bounds.x0);
      size.w = Math.max(200, box.width); size.h = Math.max(320, Math.min(640, box.width * Math.min(0.62, aspect) + 40));
      canvas.width = size.w * dpr; canvas.height = size.h * dpr;
      canvas.style.width = size.w + 'px'; canvas.style.height = size.h + 'px';
      fitMap();
      draw();
    }
    window.addEventListener('resize', resize);
    resize();
    canvas.addEventListener('wheel', function (ev) {
      ev.preventDefault();
      var f = ev.deltaY < 0 ? 1.25 : 0.8, r = canvas.getBoundingClientRect(), mx = ev.clientX - r.left, my = ev.clientY - r.top;
      view.dx = mx - (mx - view.dx) * f; view.dy = my - (my - view.dy) * f; view.scale *= f;
      draw();
    }, { passive: false });
    canvas.addEventListener('mousedown', function (ev) {
      var r = canvas.getBoundingClientRect(), x = ev.clientX - r.left, y = ev.clientY - r.top;
      drag = { x: x, y: y, dx: view.dx, dy: view.dy, lasso: ev.shiftKey, moved: false };
      lasso = ev.shiftKey ? [[x, y]] : [];
    });
    window.addEventListener('mousemove', function (ev) {
      var r = canvas.getBoundingClientRect(), x = ev.clientX - r.left, y = ev.clientY - r.top;
      if (drag) {
        drag.moved = drag.moved || Math.abs(x - drag.x) + Math.abs(y - drag.y) > 3;
        if (drag.lasso) lasso.push([x, y]); else { view.dx = drag.dx + x - drag.x; view.dy = drag.dy + y - drag.y; }
        draw();
        return;
      }
      if (x < 0 || y < 0 || x > size.w || y > size.h) { els.tip.hidden = true; return; }
      hover(nearest(x, y), ev.clientX, ev.clientY);
    });
    window.addEventListener('mouseup', function (ev) {
      if (!drag) return;
      var r = canvas.getBoundingClientRect(), x = ev.clientX - r.left, y = ev.clientY - r.top, was = drag;
      drag = null;
      if (was.lasso && lasso.length > 2) { var poly = lasso; lasso = []; selectPolygon(poly); return; }
      lasso = [];
      if (!was.moved) { var i = nearest(x, y); if (i >= 0) openExample(i); }
    });
    canvas.addEventListener('mouseleave', function () { els.tip.hidden = true; });
  }
  function hover(i, cx, cy) {
    var tip = els.tip, e = D.examples;
    if (i < 0) { tip.hidden = true; return; }
    tip.innerHTML = '';
    var pic = picture(i);
    if (pic) tip.appendChild(pictureWithShapes(i, 120));
    tip.appendChild(el('div', { class: 'tip-text' }, (D.classes[e.cls[i]] || '(no class)') + ' · task ' + e.task[i] +
      (e.flagged[i] ? ' · ' + codesOf(i).join(', ') : '')));
    tip.hidden = false;
    tip.style.left = Math.min(window.innerWidth - 180, cx + 14) + 'px';
    tip.style.top = (cy + 14) + 'px';
  }

  // ---- pictures with shapes -----------------------------------------------------------------------------
  function picture(i) { var k = D.examples.pic[i]; return k >= 0 ? D.pictures[k] : null; }
  function pictureWithShapes(i, width) {
    var wrap = el('div', { class: 'pic' }), img = el('img', { alt: 'task ' + D.examples.task[i] });
    var cv = el('canvas');
    img.src = picture(i);
    img.style.width = width + 'px';
    wrap.appendChild(img); wrap.appendChild(cv);
    img.onload = function () { drawShapes(cv, img, i); };
    if (img.complete) drawShapes(cv, img, i);
    return wrap;
  }
  function drawShapes(cv, img, focus) {
    var e = D.examples, w = img.clientWidth || img.width, h = img.clientHeight || img.height, task = e.task[focus];
    cv.width = w; cv.height = h;
    var g = cv.getContext('2d');
    var members = D.byTask[task] || [focus];
    members.forEach(function (k) {
      var bad = k === focus, stroke = bad ? (e.flagged[k] ? '#dc2626' : '#f59e0b') : 'rgba(255,255,255,.85)';
      g.strokeStyle = stroke; g.lineWidth = bad ? 2.5 : 1.2;
      var o = e.outline[k], b = e.box[k];
      g.beginPath();
      if (o && o.polygon) {
        o.polygon.forEach(function (p, j) { var x = p[0] * w / 100, y = p[1] * h / 100; if (j) g.lineTo(x, y); else g.moveTo(x, y); });
        g.closePath();
      } else if (o && o.ellipse) {
        var q = o.ellipse;
        g.ellipse(q[0] * w / 100, q[1] * h / 100, q[2] * w / 100, q[3] * h / 100, q[4] * Math.PI / 180, 0, 6.283);
      } else if (b) {
        g.save(); g.translate(b[0] * w / 100, b[1] * h / 100); g.rotate((b[4] || 0) * Math.PI / 180);
        g.rect(0, 0, b[2] * w / 100, b[3] * h / 100); g.restore();
      }
      g.stroke();
    });
    (D.keypoints[task] || []).forEach(function (p) {
      g.fillStyle = '#facc15'; g.strokeStyle = '#0f172a'; g.lineWidth = 1;
      g.beginPath(); g.arc(p[0] * w / 100, p[1] * h / 100, 3, 0, 6.283); g.fill(); g.stroke();
    });
  }

  // ---- filtering, sorting, the table ------------------------------------------------------------------
  function codesOf(i) {
    var seen = {}, out = [];
    D.examples.findingsOf[i].forEach(function (f) { var c = D.findings[f].code; if (!seen[c]) { seen[c] = 1; out.push(c); } });
    return out;
  }
  function visibleSet() {
    var scored = state.score && state.bound !== null;
    if (!state.query && state.cls < 0 && !state.code && !state.onlyFlagged && !state.onlySelected && !scored) return null;
    var e = D.examples, out = new Uint8Array(N), q = state.query.toLowerCase();
    for (var i = 0; i < N; i++) {
      if (state.cls >= 0 && e.cls[i] !== state.cls) continue;
      if (state.onlyFlagged && !e.flagged[i]) continue;
      if (state.onlySelected && !state.selected.has(i)) continue;
      if (state.code && codesOf(i).indexOf(state.code) < 0) continue;
      if (q && e.text[i].indexOf(q) < 0) continue;
      if (scored) {
        var v = e[state.score][i];
        if (v === null || (state.below ? v >= state.bound : v <= state.bound)) continue;
      }
      out[i] = 1;
    }
    return out;
  }
  var COLUMNS;
  function columns() {
    var e = D.examples, cols = [
      { key: 'task', label: 'task', get: function (i) { return e.task[i]; } },
      { key: 'cls', label: 'class', get: function (i) { return D.classes[e.cls[i]] || ''; } },
      { key: 'split', label: 'split', get: function (i) { return D.splits[e.split[i]] || ''; } }
    ];
    D.axisNames.forEach(function (a) {
      cols.push({ key: 'axis:' + a, label: a, get: function (i) { var v = e.axes[a][i]; return v >= 0 ? D.axes[a][v] : ''; } });
    });
    [['quality', 'label quality'], ['outlier', 'outlier'], ['uniqueness', 'uniqueness'], ['duplicate', 'duplicate']]
      .forEach(function (s) { cols.push({ key: s[0], label: s[1], num: true, get: function (i) { return e[s[0]][i]; } }); });
    cols.push({ key: 'flags', label: 'findings', get: function (i) { return codesOf(i).join(' '); } });
    return cols;
  }
  function sortRows(rows) {
    if (!state.sort) return rows;
    var t0 = performance.now(), col = COLUMNS.filter(function (c) { return c.key === state.sort; })[0], sign = state.desc ? -1 : 1;
    var keys = new Array(N);
    rows.forEach(function (i) { keys[i] = col.get(i); });
    rows.sort(function (a, b) {
      var x = keys[a], y = keys[b];
      if (x === null || x === '') return 1;
      if (y === null || y === '') return -1;
      return (x < y ? -1 : x > y ? 1 : a - b) * sign;
    });
    stats.sortMs = performance.now() - t0;
    return rows;
  }
  function refresh() {
    var shown = visibleSet(), rows = [];
    for (var i = 0; i < N; i++) if (!shown || shown[i]) rows.push(i);
    state.rows = sortRows(rows);
    els.count.textContent = rows.length.toLocaleString() + ' of ' + N.toLocaleString() + ' examples' +
      (state.selected.size ? ' · ' + state.selected.size.toLocaleString() + ' selected on the map' : '');
    els.spacer.style.height = (rows.length * ROW) + 'px';
    renderRows();
    draw();
  }
  function renderRows() {
    var body = els.rows, scroll = els.scroller.scrollTop, height = els.scroller.clientHeight || 480;
    var first = Math.max(0, Math.floor(scroll / ROW) - 5), last = Math.min(state.rows.length, first + Math.ceil(height / ROW) + 10);
    body.innerHTML = '';
    body.style.top = (first * ROW) + 'px';
    for (var r = first; r < last; r++) {
      var i = state.rows[r], row = el('div', { class: 'row', 'data-example': i, role: 'row' });
      var cell = el('div', { class: 'cell picture' });
      if (picture(i)) cell.appendChild(el('img', { alt: '', src: picture(i) }));
      row.appendChild(cell);
      COLUMNS.forEach(function (c) {
        var v = c.get(i), div = el('div', { class: 'cell' + (c.num ? ' num' : ''), 'data-key': c.key }, c.num ? fmt(v) : String(v));
        if (c.key === 'flags' && v) div.className += ' flags';
        row.appendChild(div);
      });
      row.addEventListener('click', (function (k) { return function () { openExample(k); }; })(i));
      body.appendChild(row);
    }
  }
  function setupTable() {
    COLUMNS = columns();
    var head = $('examples-head'), widths = ['56px'];
    head.appendChild(el('div', { class: 'cell' }, 'picture'));
    COLUMNS.forEach(function (c) {
      var div = el('div', { class: 'cell sortable' + (c.num ? ' num' : ''), 'data-key': c.key, role: 'columnheader' }, c.label);
      div.addEventListener('click', function () { sortBy(c.key); });
      head.appendChild(div);
      widths.push(c.num ? '92px' : c.key === 'task' ? '72px' : c.key === 'flags' ? 'minmax(140px,2fr)' : 'minmax(70px,1fr)');
    });
    $('examples').style.setProperty('--columns', widths.join(' '));
    els.scroller.addEventListener('scroll', function () { window.requestAnimationFrame(renderRows); });
  }
  function sortBy(key) {
    state.desc = state.sort === key ? !state.desc : false;
    state.sort = key;
    document.querySelectorAll('#examples-head .cell').forEach(function (th) {
      th.dataset.sorted = th.dataset.key === key ? (state.desc ? 'desc' : 'asc') : '';
    });
    refresh();
  }
  function setupControls() {
    var colorBy = $('color-by'), cls = $('filter-class'), code = $('filter-code');
    colorBy.appendChild(el('option', { value: 'class' }, 'class'));
    if (D.splits.length) colorBy.appendChild(el('option', { value: 'split' }, 'split'));
    D.axisNames.forEach(function (a) { colorBy.appendChild(el('option', { value: a }, a)); });
    colorBy.addEventListener('change', function () { state.colorBy = colorBy.value; legend(); draw(); });
    cls.appendChild(el('option', { value: '-1' }, 'every class'));
    D.classes.forEach(function (c, i) { cls.appendChild(el('option', { value: String(i) }, c)); });
    cls.addEventListener('change', function () { state.cls = +cls.value; refresh(); });
    code.appendChild(el('option', { value: '' }, 'any check'));
    D.codes.forEach(function (c) { code.appendChild(el('option', { value: c }, c)); });
    code.addEventListener('change', function () { state.code = code.value; refresh(); });
    $('filter-text').addEventListener('input', function (ev) { state.query = ev.target.value; refresh(); });
    var score = $('filter-score'), side = $('filter-side'), bound = $('filter-bound');
    [['', 'any score'], ['quality', 'label quality'], ['outlier', 'outlier score'], ['uniqueness', 'uniqueness'],
      ['duplicate', 'duplicate score']].forEach(function (o) { score.appendChild(el('option', { value: o[0] }, o[1])); });
    function scoreFilter() {
      state.score = score.value; state.below = side.value === 'below';
      state.bound = bound.value === '' || isNaN(+bound.value) ? null : +bound.value;
      refresh();
    }
    [score, side].forEach(function (x) { x.addEventListener('change', scoreFilter); });
    bound.addEventListener('input', scoreFilter);
    $('only-flagged').addEventListener('change', function (ev) { state.onlyFlagged = ev.target.checked; refresh(); });
    els.onlySelected.addEventListener('change', function (ev) { state.onlySelected = ev.target.checked; refresh(); });
    $('clear-selection').addEventListener('click', function () { state.selected = new Set(); state.onlySelected = false; els.onlySelected.checked = false; refresh(); });
    $('reset-view').addEventListener('click', function () { view = { scale: 1, dx: 0, dy: 0 }; draw(); });
    legend();
  }
  function legend() {
    var box = $('legend'), names = state.colorBy === 'class' ? D.classes : state.colorBy === 'split' ? D.splits : D.axes[state.colorBy];
    box.innerHTML = '';
    (names || []).forEach(function (n, i) {
      var s = el('span'); var dot = el('i'); dot.style.background = colorOf(i); s.appendChild(dot); s.appendChild(document.createTextNode(n)); box.appendChild(s);
    });
    var ring = el('span', { class: 'ring' }, 'flagged by a check'); box.appendChild(ring);
  }

  // ---- one example ------------------------------------------------------------------------------------
  function openExample(i) {
    var e = D.examples, box = $('example'), name = D.classes[e.cls[i]] || '(no class)';
    state.focus = i;
    box.innerHTML = '';
    box.hidden = false;
    box.appendChild(el('h3', {}, name + ' · task ' + e.task[i] + (e.region[i] ? ' · region ' + e.region[i] : '')));
    var row = el('div', { class: 'example-row' });
    if (picture(i)) row.appendChild(pictureWithShapes(i, 320));
    if (D.strips[i] !== undefined) row.appendChild(strip(i));
    var facts = el('dl');
    [['class', name], ['split', D.splits[e.split[i]] || '—'], ['label quality', fmt(e.quality[i])], ['suggested', D.classes[e.suggested[i]] || '—'],
      ['outlier score', fmt(e.outlier[i])], ['uniqueness', fmt(e.uniqueness[i])], ['duplicate score', fmt(e.duplicate[i])]]
      .concat(D.axisNames.map(function (a) { var v = e.axes[a][i]; return [a, v >= 0 ? D.axes[a][v] : '—']; }))
      .forEach(function (kv) { facts.appendChild(el('dt', {}, kv[0])); facts.appendChild(el('dd', {}, kv[1])); });
    row.appendChild(facts);
    box.appendChild(row);
    var list = el('ul', { class: 'example-findings' });
    e.findingsOf[i].forEach(function (f) {
      var F = D.findings[f], li = el('li');
      li.appendChild(el('span', { class: 'badge ' + F.severity }, F.severity));
      li.appendChild(el('code', {}, ' ' + F.code + ' '));
      li.appendChild(document.createTextNode(F.message));
      list.appendChild(li);
    });
    if (!e.findingsOf[i].length) list.appendChild(el('li', {}, 'No findings.'));
    box.appendChild(list);
    var near = e.nb[i] || [];
    if (near.length) {
      box.appendChild(el('h4', {}, 'Nearest examples in the embedding space'));
      var strip2 = el('div', { class: 'neighbours' });
      near.forEach(function (k) {
        var b = el('button', { class: 'neighbour', 'data-example': k, title: (D.classes[e.cls[k]] || '') + ' · task ' + e.task[k] });
        if (picture(k)) b.appendChild(el('img', { alt: '', src: picture(k) }));
        b.appendChild(el('span', {}, (D.classes[e.cls[k]] || '(none)') + ' · ' + e.task[k]));
        b.addEventListener('click', function () { openExample(k); });
        strip2.appendChild(b);
      });
      box.appendChild(strip2);
      var show = el('button', { class: 'linkish' }, 'Show these neighbours in the table');
      show.addEventListener('click', function () {
        state.selected = new Set([i].concat(near)); state.onlySelected = true; els.onlySelected.checked = true; refresh();
      });
      box.appendChild(show);
    }
    draw();
    box.scrollIntoView({ block: 'nearest' });
  }
  function strip(i) {
    var s = D.strips[i], wrap = el('div', { class: 'strip' }), e = D.examples;
    s.frames.forEach(function (f) {
      var cell = el('figure');
      if (f.inside) cell.className = 'inside';
      if (f.suggested) cell.className += ' suggested';
      cell.appendChild(el('img', { alt: f.t + ' s', src: D.pictures[f.picture] }));
      cell.appendChild(el('figcaption', {}, f.t.toFixed(2) + ' s'));
      wrap.appendChild(cell);
    });
    var note = 'segment ' + e.seconds[i][0] + '–' + e.seconds[i][1] + ' s (blue)';
    if (s.suggested) note += '; suggested ' + s.suggested[0] + '–' + s.suggested[1] + ' s (green)';
    wrap.appendChild(el('p', { class: 'lead' }, note));
    return wrap;
  }

  document.addEventListener('DOMContentLoaded', function () {
    var t0 = performance.now();
    if (!$('explorer-data')) return;
    load();
    els.tip = $('map-tip'); els.count = $('example-count'); els.rows = $('examples-rows');
    els.spacer = $('examples-spacer'); els.scroller = $('examples-scroll'); els.onlySelected = $('only-selected');
    buildGrid();
    setupMap();
    setupTable();
    setupControls();
    refresh();
    stats.loadMs = performance.now() - t0;
    window.taxospecExplorer = {
      stats: stats, state: state,
      examples: function () { return N; },
      pointsOnMap: function () { var c = 0; for (var i = 0; i < N; i++) c += D.examples.hasXY[i]; return c; },
      rowsShown: function () { return state.rows.slice(); },
      hasPoint: function (i) { return !!D.examples.hasXY[i]; },
      codesOf: codesOf,
      selectPolygon: selectPolygon, sortBy: sortBy, openExample: openExample,
      toScreen: function (i) { return toScreen(i); },
      zoom: function (f) { view.scale *= f; draw(); return stats.drawMs; }
    };
    document.body.dataset.explorer = 'ready';
  });
})();

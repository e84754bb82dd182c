/**
 * The browser half of the slice viewer (src/notebook/slice-viewer.ts): plain ES5 JavaScript, as
 * a string, run inline with `DATA` (the SliceViewerData) and `ROOT` (the viewer's <div>) in
 * scope. It decodes the PNG atlases through an off-screen canvas into one 8-bit array per
 * volume, builds one row per plane (slider, slice label, one canvas per panel), and redraws on
 * slider drags, mouse wheel, arrow / Page / Home / End keys (when the viewer has focus) and, with
 * a crosshair, clicks and drags that move the shared point. Under the pointer it shows the slice,
 * the voxel (packed and original grid) and every volume's value there. A mask overlay is drawn
 * as its outline (red, on the mask's edge pixels).
 * Must not: load anything from the network, use libraries, insert <img> elements into the page
 * (the notebook tests count those), or contain the text "</scr" + "ipt>".
 */
export const SLICE_VIEWER_SCRIPT = String.raw`
var D = DATA, nx = D.dims[0], ny = D.dims[1], nz = D.dims[2];
var vols = D.volumes.map(function () { return null; });
var p = D.start.slice(), active = 0, rows = [];
function el(tag, css, text) { var e = document.createElement(tag); if (css) e.style.cssText = css; if (text !== undefined) e.textContent = text; return e; }
ROOT.innerHTML = '';
if (D.title) ROOT.appendChild(el('div', 'font-weight:bold;margin:2px 0 4px', D.title));
var readout = el('div', 'font-family:monospace;min-height:1.4em;margin-top:4px;white-space:pre', ' ');
function fmt(vi, code) {
  var v = D.volumes[vi];
  return v.name + ' ' + (v.low + code * (v.high - v.low) / 255).toFixed(v.decimals) + (v.unit ? ' ' + v.unit : '');
}
function lin(q) { return q[0] + nx * (q[1] + ny * q[2]); }
function inverse(index, n) {
  var out = [];
  for (var a = 0; a < n; a++) { var best = 0, bd = 1e9; for (var c = 0; c < index.length; c++) { var d = Math.abs(index[c] - a); if (d < bd) { bd = d; best = c; } } out.push(best); }
  return out;
}
D.planes.forEach(function (g, k) {
  var row = el('div', 'margin:2px 0');
  var bar = el('div', 'display:flex;align-items:center;gap:8px;margin:2px 0');
  var label = el('span', 'min-width:5.5em', g.plane);
  var slider = el('input', 'width:' + Math.max(160, g.width * D.zoom) + 'px');
  slider.type = 'range'; slider.min = 0; slider.max = g.count - 1; slider.step = 1; slider.value = p[g.normalAxis];
  slider.className = 'mri2ct-slider'; slider.setAttribute('data-plane', g.plane);
  var count = el('span', 'font-family:monospace', '');
  count.className = 'mri2ct-slice-label';
  bar.appendChild(label); bar.appendChild(slider); bar.appendChild(count);
  var panels = el('div', 'display:flex;flex-wrap:nowrap;gap:6px');
  var small = document.createElement('canvas'); small.width = g.width; small.height = g.height;
  var sctx = small.getContext('2d'), img = sctx.createImageData(g.width, g.height);
  var cans = D.panels.map(function (pn) {
    var box = el('div', 'text-align:center');
    box.appendChild(el('div', 'margin-bottom:1px', pn.title));
    var c = document.createElement('canvas');
    c.width = g.width * D.zoom; c.height = g.height * D.zoom;
    c.style.cssText = 'display:block;width:' + c.width + 'px;height:' + c.height + 'px;background:#000;cursor:crosshair;image-rendering:pixelated';
    c.className = 'mri2ct-panel'; c.setAttribute('data-plane', g.plane);
    box.appendChild(c); panels.appendChild(box);
    var t = g.orientation;
    box.appendChild(el('div', 'font-size:10px;color:#888', t[0] ? 'top ' + t[0] + ' · right ' + t[1] + ' · left ' + t[3] : ''));
    return c;
  });
  row.appendChild(bar); row.appendChild(panels); ROOT.appendChild(row);
  rows.push({ g: g, slider: slider, count: count, cans: cans, small: small, sctx: sctx, img: img, inside: new Uint8Array(g.width * g.height),
    colPos: inverse(g.colIndex, D.dims[g.colAxis]), rowPos: inverse(g.rowIndex, D.dims[g.rowAxis]) });
  slider.addEventListener('input', function () { active = k; p[g.normalAxis] = +slider.value; drawAll(); });
  slider.addEventListener('focus', function () { active = k; });
  cans.forEach(function (c) {
    function voxelAt(ev) {
      var r = c.getBoundingClientRect();
      var cx = Math.floor((ev.clientX - r.left) / r.width * g.width), cy = Math.floor((ev.clientY - r.top) / r.height * g.height);
      if (cx < 0 || cy < 0 || cx >= g.width || cy >= g.height) return null;
      var q = p.slice(); q[g.colAxis] = g.colIndex[cx]; q[g.rowAxis] = g.rowIndex[cy];
      return q;
    }
    var dragging = false;
    function move(ev) {
      active = k;
      var q = voxelAt(ev); if (!q) return;
      if (dragging && D.crosshair) { p = q; drawAll(); }
      show(q, g);
    }
    c.addEventListener('mousemove', move);
    c.addEventListener('mousedown', function (ev) { dragging = true; ROOT.focus({ preventScroll: true }); move(ev); ev.preventDefault(); });
    window.addEventListener('mouseup', function () { dragging = false; });
    c.addEventListener('wheel', function (ev) { active = k; step(ev.deltaY > 0 ? -1 : 1); ev.preventDefault(); }, { passive: false });
  });
});
ROOT.appendChild(readout);
if (D.note) ROOT.appendChild(el('div', 'color:#666;margin-top:2px;max-width:' + Math.max(400, D.panels.length * 260) + 'px', D.note));
function show(q, g) {
  if (vols.indexOf(null) >= 0) return;
  var i = lin(q), f = D.factor;
  var s = g.plane + ' slice ' + q[g.normalAxis] + '/' + (g.count - 1) + '  voxel (' + q.join(', ') + ')' +
    (f[0] * f[1] * f[2] > 1 ? ' ≈ (' + q.map(function (v, a) { return v * f[a]; }).join(', ') + ') in the full grid' : '') + '\n' +
    D.volumes.map(function (v, vi) { return fmt(vi, vols[vi][i]); }).join(' · ');
  readout.textContent = s;
}
function step(d) {
  var g = D.planes[active], a = g.normalAxis;
  p[a] = Math.max(0, Math.min(g.count - 1, p[a] + d)); drawAll();
}
function draw(R) {
  var g = R.g, px = R.img.data, hot = D.hot, q = p.slice();
  R.slider.value = p[g.normalAxis];
  R.count.textContent = 'slice ' + p[g.normalAxis] + ' / ' + (g.count - 1);
  D.panels.forEach(function (pn, j) {
    var v = vols[pn.volume], ov = pn.overlay >= 0 ? vols[pn.overlay] : null, o = 0, W = g.width, H = g.height;
    if (ov) {
      for (var r0 = 0; r0 < H; r0++) {
        q[g.rowAxis] = g.rowIndex[r0];
        for (var c0 = 0; c0 < W; c0++) { q[g.colAxis] = g.colIndex[c0]; R.inside[r0 * W + c0] = ov[q[0] + nx * (q[1] + ny * q[2])] > 127 ? 1 : 0; }
      }
    }
    for (var r = 0; r < g.height; r++) {
      q[g.rowAxis] = g.rowIndex[r];
      for (var c = 0; c < g.width; c++) {
        q[g.colAxis] = g.colIndex[c];
        var i = q[0] + nx * (q[1] + ny * q[2]), code = v[i], cr, cg, cb;
        if (pn.colormap === 'hot') { cr = hot[code * 3]; cg = hot[code * 3 + 1]; cb = hot[code * 3 + 2]; } else { cr = cg = cb = code; }
        if (ov) {
          var k0 = r * W + c, ins = R.inside;
          if (ins[k0] && (c === 0 || r === 0 || c === W - 1 || r === H - 1 || !ins[k0 - 1] || !ins[k0 + 1] || !ins[k0 - W] || !ins[k0 + W])) { cr = 255; cg = 40; cb = 40; }
        }
        px[o] = cr; px[o + 1] = cg; px[o + 2] = cb; px[o + 3] = 255; o += 4;
      }
    }
    R.sctx.putImageData(R.img, 0, 0);
    var c2 = R.cans[j], ctx = c2.getContext('2d');
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(R.small, 0, 0, c2.width, c2.height);
    if (D.crosshair) {
      var x = (R.colPos[p[g.colAxis]] + 0.5) * D.zoom, y = (R.rowPos[p[g.rowAxis]] + 0.5) * D.zoom;
      ctx.strokeStyle = 'rgba(0,255,0,0.55)'; ctx.lineWidth = 1; ctx.beginPath();
      ctx.moveTo(Math.floor(x) + 0.5, 0); ctx.lineTo(Math.floor(x) + 0.5, c2.height);
      ctx.moveTo(0, Math.floor(y) + 0.5); ctx.lineTo(c2.width, Math.floor(y) + 0.5); ctx.stroke();
    }
  });
}
function drawAll() { if (vols.indexOf(null) < 0) rows.forEach(draw); }
ROOT.addEventListener('keydown', function (ev) {
  var d = { ArrowUp: 1, ArrowRight: 1, ArrowDown: -1, ArrowLeft: -1, PageUp: 10, PageDown: -10, Home: -1e9, End: 1e9 }[ev.key];
  if (d === undefined) return;
  step(d); ev.preventDefault(); ev.stopPropagation(); // not the notebook's cell navigation
});
var pending = D.atlases.length;
D.atlases.forEach(function (a, ai) {
  var im = new Image();
  im.onload = function () {
    var c = document.createElement('canvas'); c.width = a.width; c.height = a.height;
    var ctx = c.getContext('2d'), px;
    ctx.drawImage(im, 0, 0);
    try { px = ctx.getImageData(0, 0, a.width, a.height).data; } catch (e) { readout.textContent = 'this page does not let the viewer read its slice data: ' + e; return; }
    D.volumes.forEach(function (v, vi) {
      if (v.atlas !== ai) return;
      var out = new Uint8Array(nx * ny * nz), ch = v.channel;
      for (var z = 0; z < nz; z++) {
        var tx = (z % a.cols) * nx, ty = Math.floor(z / a.cols) * ny;
        for (var y = 0; y < ny; y++) {
          var src = ((ty + y) * a.width + tx) * 4 + ch, dst = nx * (y + ny * z);
          for (var x = 0; x < nx; x++) out[dst + x] = px[src + 4 * x];
        }
      }
      vols[vi] = out;
    });
    pending -= 1;
    if (pending === 0) { drawAll(); ROOT.setAttribute('data-ready', '1'); }
  };
  im.onerror = function () { readout.textContent = 'could not decode the slice data'; };
  im.src = 'data:image/png;base64,' + a.png;
});
`;

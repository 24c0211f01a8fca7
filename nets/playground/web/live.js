// The Playground's live panel in the student's browser: trains with nn.js while Play is on, draws the network, the heat map, the numbers and the loss curve, and hands the network back to the server every few seconds and at each pause.
// The server (pages/playground.py) keeps the settings, links, scenarios and checks; it sends this panel the
// network as it has it and a `version` that changes whenever the server changed the network (Step, Reset, a
// typed weight, new settings). Colours and layout follow nets/playground/pictures.py.

const NEG = [245, 147, 34], ZERO = [232, 234, 235], POS = [8, 119, 189];  // TF's orange, grey, blue
const CLASS = [[8, 119, 189], [245, 147, 34], [46, 160, 67], [148, 103, 189], [214, 39, 40], [23, 190, 207]];
const HALF = 6, HEAT_RES = 50, THUMB_RES = 16, TRAIN_MS = 14, DRAW_MS = 40, RECORD_MS = 100, MAX_HISTORY = 400;
const panels = new Map();  // one per Playground tab, kept across the page's reruns

function colour(v) {
  const t = Math.max(-1, Math.min(1, v)), end = t < 0 ? NEG : POS, s = Math.abs(t);
  return [0, 1, 2].map((i) => ZERO[i] + (end[i] - ZERO[i]) * s);
}

function classColour(p, k, discretize) {
  let best = 0;
  for (let c = 1; c < k; c++) if (p[c] > p[best]) best = c;
  const probs = discretize ? Array.from({ length: k }, (_, c) => (c === best ? 1 : 0)) : p;
  const mix = [0, 0, 0];
  for (let c = 0; c < k; c++) for (let i = 0; i < 3; i++) mix[i] += probs[c] * CLASS[c][i];
  const sure = (Math.max(...probs) - 1 / k) / (1 - 1 / k);
  return [0, 1, 2].map((i) => ZERO[i] + (mix[i] - ZERO[i]) * (0.35 + 0.65 * sure));
}

function build(root) {
  root.innerHTML = `
    <div class="pg">
      <div class="pg-left"><canvas class="pg-net" width="420" height="400"></canvas></div>
      <div class="pg-right">
        <div class="pg-numbers">
          <div><span>Epoch</span><b class="pg-epoch" data-testid="pg-epoch">0</b></div>
          <div><span>Training loss</span><b class="pg-train" data-testid="pg-train-loss">–</b></div>
          <div><span>Test loss</span><b class="pg-test" data-testid="pg-test-loss">–</b></div>
        </div>
        <canvas class="pg-heat" width="300" height="300" data-testid="pg-heatmap"></canvas>
        <canvas class="pg-curve" width="300" height="80"></canvas>
      </div>
    </div>`;
  const q = (s) => root.querySelector(s);
  return { net: q(".pg-net"), heat: q(".pg-heat"), curve: q(".pg-curve"), epoch: q(".pg-epoch"),
           train: q(".pg-train"), test: q(".pg-test") };
}

function load(p, d) {  // the server's network and points, as this tab's training state
  p.version = d.version;
  p.net = makeNet(d.net);
  const f1 = d.features.length + 1, labels = (pts) => Float64Array.from(pts.map((q) => q[2]));
  p.run = { x: featureRows(d.points, d.features), y: labels(d.points), n: d.points.length, f1,
            xTest: featureRows(d.test_points, d.features), yTest: labels(d.test_points), nTest: d.test_points.length,
            batch: d.batch, lr: d.lr, order: Int32Array.from(d.order), position: d.position, epoch: d.epoch,
            batches: d.batches };
  p.run.shuffle = shuffler(p.run.n, p.net.rand);
  p.history = d.history.map((h) => h.slice());
  p.heatGrid = gridInputs(d.features, HEAT_RES, HALF);
  p.thumbGrid = gridInputs(d.features, THUMB_RES, HALF);
  p.dirty = true;
}

function record(p) {
  const [train, test] = losses(p.net, p.run);
  p.history.push([p.run.epoch + p.run.position / p.run.n, train, test]);
  if (p.history.length > MAX_HISTORY) p.history = p.history.filter((_, i) => i % 2 === 0);
}

function snapshot(p) {  // what the server keeps: the network, the bookkeeping, the curve
  return { version: p.version, seq: ++p.seq, params: Array.from(p.net.params),
           bn: p.net.bn.map((s) => ({ gamma: Array.from(s.gamma), beta: Array.from(s.beta), mean: Array.from(s.mean),
                                      var: Array.from(s.var), count: s.count })),
           epoch: p.run.epoch, position: p.run.position, batches: p.run.batches, history: p.history };
}

function drawHeat(p) {
  const d = p.data, ctx = p.els.heat.getContext("2d"), size = p.els.heat.width, k = d.classes;
  const { z } = forward(p.net, p.heatGrid, HEAT_RES * HEAT_RES, false);
  const out = outputValues(p.net, z, HEAT_RES * HEAT_RES);
  const img = new ImageData(HEAT_RES, HEAT_RES);
  for (let i = 0; i < HEAT_RES * HEAT_RES; i++) {
    const rgb = k > 2 ? classColour(out.subarray(i * k, i * k + k), k, d.discretize)
      : colour(d.discretize ? Math.sign(out[i]) : out[i]);
    img.data.set([rgb[0], rgb[1], rgb[2], 255], i * 4);
  }
  p.small = p.small || document.createElement("canvas");
  p.small.width = p.small.height = HEAT_RES;
  p.small.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(p.small, 0, 0, size, size);
  const px = (u) => ((u + HALF) / (2 * HALF)) * size, r = Math.max(3, size / 95);
  for (const [pts, rim] of [[d.points, "#fff"], [d.show_test ? d.test_points : null, "#000"]]) {
    if (!pts) continue;
    for (const [u, v, label] of pts) {
      const rgb = k > 2 ? CLASS[label] : colour(label);
      ctx.beginPath();
      ctx.arc(px(u), size - px(v), r, 0, 2 * Math.PI);
      ctx.fillStyle = `rgb(${rgb.join(",")})`;
      ctx.fill();
      ctx.lineWidth = 1;
      ctx.strokeStyle = rim;
      ctx.stroke();
    }
  }
  if (d.planes) drawPlanes(p, ctx, size, px);
  return out;
}

function drawPlanes(p, ctx, size, px) {  // nets/playground/halfplanes.py: each first-layer neuron's z = 0
  const { off, nout } = p.net.layers[0], P = p.net.params;
  ctx.strokeStyle = "#282828"; ctx.fillStyle = "#141414"; ctx.lineWidth = 2; ctx.font = "11px sans-serif";
  for (let j = 0; j < nout; j++) {
    const w1 = P[off + j], w2 = P[off + nout + j], b = P[off + 2 * nout + j], ends = [];
    if (Math.abs(w2) > 1e-9) for (const u of [-HALF, HALF]) ends.push([u, -(w1 * u + b) / w2]);
    if (Math.abs(w1) > 1e-9) for (const v of [-HALF, HALF]) ends.push([-(w2 * v + b) / w1, v]);
    const inside = ends.filter(([u, v]) => Math.abs(u) <= HALF + 1e-9 && Math.abs(v) <= HALF + 1e-9);
    if (inside.length < 2) continue;
    let best = null, far = 0;
    for (let a = 0; a < inside.length; a++) for (let c = a + 1; c < inside.length; c++) {
      const dist = Math.hypot(inside[a][0] - inside[c][0], inside[a][1] - inside[c][1]);
      if (dist > far) { far = dist; best = [inside[a], inside[c]]; }
    }
    if (!best || far < 1e-6) continue;
    const [u0, v0, u1, v1] = [px(best[0][0]), size - px(best[0][1]), px(best[1][0]), size - px(best[1][1])];
    const n = Math.hypot(w1, w2), mu = (u0 + u1) / 2, mv = (v0 + v1) / 2;
    ctx.beginPath(); ctx.moveTo(u0, v0); ctx.lineTo(u1, v1);
    ctx.moveTo(mu, mv); ctx.lineTo(mu + 10 * w1 / n, mv - 10 * w2 / n); ctx.stroke();
    ctx.fillText(`h${j + 1}`, u0 + 0.12 * (u1 - u0) + 3, v0 + 0.12 * (v1 - v0) - 4);
  }
}

function thumb(p, values, stride, at, count, scaleEach) {  // one neuron's picture, each on its own scale
  const img = new ImageData(THUMB_RES, THUMB_RES);
  let big = 1e-6;
  for (let i = 0; i < count; i++) big = Math.max(big, Math.abs(values[i * stride + at]));
  const s = scaleEach && big > 1 ? big : 1;
  for (let i = 0; i < count; i++) img.data.set([...colour(values[i * stride + at] / s), 255], i * 4);
  return img;
}

function drawNet(p) {  // pictures.network: columns of thumbnails joined by edges, blue W > 0, orange W < 0
  const d = p.data, cv = p.els.net, ctx = cv.getContext("2d"), width = cv.width, height = cv.height;
  const m = THUMB_RES * THUMB_RES, { z, hidden } = forward(p.net, p.thumbGrid, m, false);
  const widths = p.net.widths, k = d.classes > 2 ? d.classes : 1;
  const columns = widths.slice(0, -1), nCols = columns.length + 1, left = 46 * width / 420;
  const tallest = Math.max(...columns, k), scale = width / 420;  // drawn for 420 px, grown with the canvas
  const box = Math.floor(Math.min(56 * scale, (0.62 * (width - left)) / nCols, (0.8 * height) / tallest));
  const xs = Array.from({ length: nCols }, (_, i) => left + (i * (width - left - box - 6)) / Math.max(nCols - 1, 1));
  const ys = (n) => {
    const gap = Math.min(box * 1.3, (height - box) / Math.max(n - 1, 1)), top = (height - box - gap * (n - 1)) / 2;
    return Array.from({ length: n }, (_, j) => top + j * gap);
  };
  const centres = columns.map((n, i) => ys(n).map((y) => [xs[i] + box / 2, y + box / 2]));
  centres.push(ys(k).map((y) => [xs[nCols - 1] + box / 2, y + box / 2]));
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, width, height);
  p.net.layers.forEach(({ off, nin, nout }, l) => {  // edges first, thumbnails over them
    let big = 1e-6;
    for (let a = 0; a < nin - 1; a++) for (let j = 0; j < nout; j++) big = Math.max(big, Math.abs(p.net.params[off + a * nout + j]));
    for (let j = 0; j < nout; j++) for (let a = 0; a < nin - 1; a++) {
      const w = p.net.params[off + a * nout + j], [x0, y0] = centres[l][a], [x1, y1] = centres[l + 1][Math.min(j, centres[l + 1].length - 1)];
      ctx.strokeStyle = `rgb(${(w > 0 ? POS : NEG).join(",")})`;
      ctx.lineWidth = Math.max(1, Math.round((4 * scale * Math.abs(w)) / Math.max(big, 1)));
      ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(x1, y1); ctx.stroke();
    }
  });
  p.tiny = p.tiny || document.createElement("canvas");
  p.tiny.width = p.tiny.height = THUMB_RES;
  const paste = (img, cx, cy, size, outline, smooth) => {
    p.tiny.getContext("2d").putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = smooth;
    ctx.drawImage(p.tiny, cx - size / 2, cy - size / 2, size, size);
    ctx.strokeStyle = outline; ctx.lineWidth = outline === "#787878" ? 1 : 2;
    ctx.strokeRect(cx - size / 2, cy - size / 2, size, size);
  };
  const f1 = widths[0] + 1;
  centres[0].forEach(([cx, cy], i) => paste(thumb(p, p.thumbGrid, f1, i, m, true), cx, cy, box, "#787878", false));
  hidden.forEach((a, l) => centres[l + 1].forEach(([cx, cy], j) =>
    paste(thumb(p, a, widths[l + 1], j, m, true), cx, cy, box, "#787878", false)));
  const out = outputValues(p.net, z, m), last = centres[centres.length - 1];
  if (k === 1) {
    const img = new ImageData(THUMB_RES, THUMB_RES);
    for (let i = 0; i < m; i++) img.data.set([...colour(d.discretize ? Math.sign(out[i]) : out[i]), 255], i * 4);
    paste(img, last[0][0], last[0][1], box + 10, "#787878", true);
  } else {
    last.forEach(([cx, cy], c) => {
      const img = new ImageData(THUMB_RES, THUMB_RES);
      for (let i = 0; i < m; i++) {
        const v = Math.max(0, Math.min(1, out[i * k + c]));
        img.data.set([...[0, 1, 2].map((q) => 255 + (CLASS[c][q] - 255) * v), 255], i * 4);
      }
      paste(img, cx, cy, box, `rgb(${CLASS[c].join(",")})`, false);
    });
  }
  ctx.fillStyle = "#282828"; ctx.font = `${Math.round(12 * scale)}px sans-serif`;
  centres[0].forEach(([, cy], i) => ctx.fillText(d.labels[i], 2, cy + 4));
}

function drawCurve(p) {  // the training (grey) and test (black) loss against epochs, from 0
  const cv = p.els.curve, ctx = cv.getContext("2d"), w = cv.width, h = cv.height, H = p.history;
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, w, h);
  if (!H.length) return;
  const maxE = Math.max(1, H[H.length - 1][0]);
  let top = 1e-9;
  for (const [, a, b] of H) top = Math.max(top, isFinite(a) ? a : 0, isFinite(b) ? b : 0);
  const X = (e) => 30 + (e / maxE) * (w - 36), Y = (v) => h - 14 - (Math.min(v, top) / top) * (h - 22);
  ctx.strokeStyle = "#ccc"; ctx.lineWidth = 1;
  ctx.beginPath(); ctx.moveTo(30, 4); ctx.lineTo(30, h - 14); ctx.lineTo(w - 6, h - 14); ctx.stroke();
  ctx.fillStyle = "#555"; ctx.font = "10px sans-serif";
  ctx.fillText(top.toFixed(top < 0.1 ? 3 : 2), 0, 10); ctx.fillText("0", 20, h - 12);
  ctx.textAlign = "right";
  ctx.fillText(`${Math.floor(maxE).toLocaleString("en-US")} epochs`, w - 6, h - 2);
  ctx.textAlign = "left";
  for (const [col, colour] of [[1, "#999"], [2, "#222"]]) {
    ctx.strokeStyle = colour; ctx.lineWidth = 1.5; ctx.beginPath();
    H.forEach((row, i) => (i ? ctx.lineTo(X(row[0]), Y(row[col])) : ctx.moveTo(X(row[0]), Y(row[col]))));
    ctx.stroke();
  }
}

function fit(cv, ratio) {  // the canvas's pixels follow its size on screen: sharp on a projector and a 4K screen
  const w = Math.round(cv.clientWidth * (window.devicePixelRatio || 1));
  if (w > 0 && cv.width !== w) { cv.width = w; cv.height = Math.round(w * ratio); }
}

function draw(p) {
  fit(p.els.heat, 1); fit(p.els.net, 400 / 420); fit(p.els.curve, 80 / 300);
  const last = p.history[p.history.length - 1] || [0, NaN, NaN];
  p.els.epoch.textContent = p.run.epoch.toLocaleString("en-US");
  p.els.train.textContent = isFinite(last[1]) ? last[1].toFixed(3) : "nan";
  p.els.test.textContent = isFinite(last[2]) ? last[2].toFixed(3) : "nan";
  drawHeat(p);
  drawNet(p);
  drawCurve(p);
  p.draws += 1;
  p.root.dataset.draws = p.draws;  // for the speed measurement (tests/bench_tf_side_by_side.py)
  p.root.dataset.widths = p.net.widths.join(",");  // the network drawn, for the browser tests
}

function frame(p) {
  if (!p.alive) return;
  const now = performance.now(), stopAt = p.data.stop_at;
  if (p.data.playing && !p.stopped) {
    const until = now + TRAIN_MS;  // train, in small chunks, for a slice of each frame
    do {
      if (stopAt == null) { trainBatches(p.net, p.run, 5); continue; }
      const before = p.run.epoch;  // a scenario: every epoch recorded, and a stop at its last one
      trainBatches(p.net, p.run, 1);
      if (p.run.epoch > before) record(p);
      if (p.run.epoch >= stopAt) { p.stopped = true; break; }
    } while (performance.now() < until);
    if (stopAt == null && now - p.recorded >= RECORD_MS) { record(p); p.recorded = now; }
    p.dirty = true;
    if (p.stopped) p.send("sync", { ...snapshot(p), stopped: true });  // the scenario's epochs are done
    else if (now - p.synced >= p.data.sync_s * 1000) { p.send("sync", snapshot(p)); p.synced = now; }
  }
  if (p.dirty && now - p.drawn >= (p.data.playing ? DRAW_MS : 0)) { draw(p); p.drawn = now; p.dirty = false; }
  requestAnimationFrame(() => frame(p));
}

export default function (component) {
  const { data, setStateValue, parentElement } = component;
  let p = panels.get(data.id);
  if (!p || !p.root.isConnected || p.root.parentNode !== parentElement) {
    if (p) p.alive = false;  // its element was replaced: its loop ends
    const root = document.createElement("div");
    parentElement.appendChild(root);
    p = { root, els: build(root), alive: true, seq: 0, draws: 0, drawn: -1e9, recorded: 0, synced: performance.now() };
    panels.set(data.id, p);
    requestAnimationFrame(() => frame(p));
  }
  const wasPlaying = p.data && p.data.playing;
  p.send = setStateValue;
  p.data = data;
  if (p.version !== data.version) { load(p, data); p.stopped = false; }
  p.run.lr = data.lr;
  p.dirty = true;
  if (wasPlaying && !data.playing && !p.stopped) { record(p); p.send("sync", snapshot(p)); }  // paused: the server gets it all
  if (!wasPlaying && data.playing) { p.synced = performance.now(); p.stopped = false; }
  return () => { p.alive = false; panels.delete(data.id); };
}

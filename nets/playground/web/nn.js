// The Playground's training in the student's browser: nets/playground/fast.py's FastNet and step(), line for line, in float64.
// A plain script (no imports): the page joins it to live.js into one module; tests/test_playground_js.py
// runs it under node against fast.py. Layout as in fast.py: layer l is Wb (in + 1, out), row-major, W with b
// as its last row, in one flat `params`; inputs carry a column of ones.

function mulberry32(seed) {  // a small seeded PRNG: the browser's shuffles and dropout masks
  let a = seed >>> 0;
  return function () {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ACT = {
  tanh: [Math.tanh, (a) => 1 - a * a],
  relu: [(h) => (h > 0 ? h : 0), (a) => (a > 0 ? 1 : 0)],
  sigmoid: [(h) => 1 / (1 + Math.exp(-h)), (a) => a * (1 - a)],
  linear: [(h) => h, null],
};
const BN_EPS = 1e-5, BN_MOMENTUM = 0.1;  // torch.nn.BatchNorm1d's defaults

function makeNet(spec) {
  const net = {
    widths: spec.widths, activation: spec.activation, loss: spec.loss, classes: spec.classes,
    dropout: spec.dropout || 0, regularization: spec.regularization || "none", regRate: spec.reg_rate || 0,
    params: Float64Array.from(spec.params), layers: [], rand: mulberry32(spec.seed || 1),
  };
  net.grads = new Float64Array(net.params.length);
  net.isWeight = new Float64Array(net.params.length).fill(1);
  let off = 0;
  for (let l = 0; l + 1 < net.widths.length; l++) {
    const nin = net.widths[l] + 1, nout = net.widths[l + 1];
    net.layers.push({ off, nin, nout });
    net.isWeight.fill(0, off + (nin - 1) * nout, off + nin * nout);  // the bias row: no penalty
    off += nin * nout;
  }
  net.bn = (spec.bn || []).map((s) => ({
    gamma: Float64Array.from(s.gamma), beta: Float64Array.from(s.beta),
    mean: Float64Array.from(s.mean), var: Float64Array.from(s.var), count: s.count,
  }));
  return net;
}

function affine(net, l, a, m, z) {  // z (m, nout) = a (m, nin) @ Wb[l]
  const { off, nin, nout } = net.layers[l], P = net.params;
  z.fill(0);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < nin; k++) {
      const v = a[i * nin + k];
      if (v === 0) continue;
      const row = off + k * nout;
      for (let j = 0; j < nout; j++) z[i * nout + j] += v * P[row + j];
    }
  }
  return z;
}

// The output layer's z for m points x (m, f + 1); `train`: batch statistics and dropout. Returns
// {z, cache, hidden}: per hidden layer its input, activation (before dropout), mask and batch norm's
// (x̂, 1/σ); `hidden`: each hidden layer's a (for the neuron pictures).
function forward(net, x, m, train) {
  const [f] = ACT[net.activation];
  const cache = [], hidden = [];
  let a = x;
  for (let l = 0; l + 1 < net.layers.length; l++) {
    const n = net.layers[l].nout;
    const h = affine(net, l, a, m, new Float64Array(m * n));
    let norm = null;
    if (net.bn.length) {
      const s = net.bn[l], mu = new Float64Array(n), v = new Float64Array(n);
      if (train) {
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) mu[j] += h[i * n + j];
        for (let j = 0; j < n; j++) mu[j] /= m;
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) { const d = h[i * n + j] - mu[j]; v[j] += d * d; }
        for (let j = 0; j < n; j++) {
          v[j] /= m;
          s.mean[j] = (1 - BN_MOMENTUM) * s.mean[j] + BN_MOMENTUM * mu[j];
          s.var[j] = (1 - BN_MOMENTUM) * s.var[j] + BN_MOMENTUM * v[j] * m / (m - 1);
        }
        s.count += 1;
      } else {
        mu.set(s.mean); v.set(s.var);
      }
      const inv = new Float64Array(n), xhat = new Float64Array(m * n);
      for (let j = 0; j < n; j++) inv[j] = 1 / Math.sqrt(v[j] + BN_EPS);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
        const k = i * n + j;
        xhat[k] = (h[k] - mu[j]) * inv[j];
        h[k] = s.gamma[j] * xhat[k] + s.beta[j];
      }
      norm = { xhat, inv };
    }
    const act = new Float64Array(m * n), out = new Float64Array(m * (n + 1));
    for (let k = 0; k < m * n; k++) act[k] = f(h[k]);
    let mask = null;
    if (train && net.dropout) {
      mask = new Float64Array(m * n);
      for (let k = 0; k < m * n; k++) mask[k] = net.rand() >= net.dropout ? 1 / (1 - net.dropout) : 0;
    }
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) out[i * (n + 1) + j] = mask ? act[i * n + j] * mask[i * n + j] : act[i * n + j];
      out[i * (n + 1) + n] = 1;
    }
    cache.push({ a, act, mask, norm });
    hidden.push(act);
    a = out;
  }
  const last = net.layers.length - 1;
  cache.push({ a });
  return { z: affine(net, last, a, m, new Float64Array(m * net.layers[last].nout)), cache, hidden };
}

function softmaxRow(z, i, k, p) {
  let top = -Infinity, sum = 0;
  for (let c = 0; c < k; c++) top = Math.max(top, z[i * k + c]);
  for (let c = 0; c < k; c++) { p[c] = Math.exp(z[i * k + c] - top); sum += p[c]; }
  for (let c = 0; c < k; c++) p[c] /= sum;
  return p;
}

function dataLoss(net, z, y, m) {  // fast.py's data_loss: the mean over the points
  let total = 0;
  if (net.classes > 2) {
    const k = net.classes, p = new Float64Array(k);
    for (let i = 0; i < m; i++) {
      const t = y[i];
      if (net.loss === "cross-entropy") {
        let top = -Infinity, sum = 0;
        for (let c = 0; c < k; c++) top = Math.max(top, z[i * k + c]);
        for (let c = 0; c < k; c++) sum += Math.exp(z[i * k + c] - top);
        total += Math.log(sum) - (z[i * k + t] - top);
      } else {
        softmaxRow(z, i, k, p);
        let s = 0;
        for (let c = 0; c < k; c++) { const d = p[c] - (c === t ? 1 : 0); s += d * d; }
        total += 0.5 * s;
      }
    }
    return total / m;
  }
  for (let i = 0; i < m; i++) {
    const v = z[i];
    if (net.classes === 2 && net.loss === "cross-entropy") {
      const t = (y[i] + 1) / 2;
      total += Math.max(v, 0) - v * t + Math.log1p(Math.exp(-Math.abs(v)));
    } else {
      const a = net.classes === 2 ? Math.tanh(v) : v;
      total += 0.5 * (a - y[i]) * (a - y[i]);
    }
  }
  return total / m;
}

function lossGrad(net, z, y, m) {  // d(mean data loss)/dz, as fast.py's loss_grad
  const k = net.classes > 2 ? net.classes : 1, dz = new Float64Array(m * k);
  if (net.classes > 2) {
    const p = new Float64Array(k);
    for (let i = 0; i < m; i++) {
      softmaxRow(z, i, k, p);
      if (net.loss === "cross-entropy") {
        for (let c = 0; c < k; c++) dz[i * k + c] = (p[c] - (c === y[i] ? 1 : 0)) / m;
      } else {
        let dot = 0;
        for (let c = 0; c < k; c++) dot += ((p[c] - (c === y[i] ? 1 : 0)) / m) * p[c];
        for (let c = 0; c < k; c++) dz[i * k + c] = p[c] * ((p[c] - (c === y[i] ? 1 : 0)) / m - dot);
      }
    }
    return dz;
  }
  for (let i = 0; i < m; i++) {
    const v = z[i];
    if (net.classes === 2 && net.loss === "cross-entropy") dz[i] = (1 / (1 + Math.exp(-v)) - (y[i] + 1) / 2) / m;
    else if (net.classes === 2) { const a = Math.tanh(v); dz[i] = (a - y[i]) * (1 - a * a) / m; }
    else dz[i] = (v - y[i]) / m;
  }
  return dz;
}

function sgdStep(net, x, y, m, lr) {  // one batch: forward in training mode, backward, w −= lr·(grad + penalty)
  const { z, cache } = forward(net, x, m, true);
  let dz = lossGrad(net, z, y, m);
  const P = net.params, G = net.grads, der = ACT[net.activation][1];
  for (let l = net.layers.length - 1; l >= 0; l--) {
    const { off, nin, nout } = net.layers[l], a = cache[l].a;
    for (let k = 0; k < nin; k++) for (let j = 0; j < nout; j++) {
      let s = 0;
      for (let i = 0; i < m; i++) s += a[i * nin + k] * dz[i * nout + j];
      G[off + k * nout + j] = s;
    }
    if (l > 0) {
      const n = nin - 1, back = new Float64Array(m * n), { act, mask, norm } = cache[l - 1];
      for (let i = 0; i < m; i++) for (let k = 0; k < n; k++) {
        let s = 0;
        for (let j = 0; j < nout; j++) s += dz[i * nout + j] * P[off + k * nout + j];
        if (mask) s *= mask[i * n + k];
        if (der) s *= der(act[i * n + k]);
        back[i * n + k] = s;
      }
      if (norm) {
        const s = net.bn[l - 1], dgamma = new Float64Array(n), dbeta = new Float64Array(n);
        for (let i = 0; i < m; i++) for (let k = 0; k < n; k++) {
          dgamma[k] += back[i * n + k] * norm.xhat[i * n + k];
          dbeta[k] += back[i * n + k];
        }
        for (let i = 0; i < m; i++) for (let k = 0; k < n; k++) {
          const q = i * n + k;
          back[q] = s.gamma[k] * norm.inv[k] / m * (m * back[q] - dbeta[k] - norm.xhat[q] * dgamma[k]);
        }
        for (let k = 0; k < n; k++) { s.gamma[k] -= lr * dgamma[k]; s.beta[k] -= lr * dbeta[k]; }
      }
      dz = back;
    }
  }
  if (net.regularization !== "none" && net.regRate) {
    for (let q = 0; q < P.length; q++) {
      const slope = net.regularization === "L1" ? Math.sign(P[q]) : P[q];
      G[q] += net.regRate * slope * net.isWeight[q];
    }
  }
  for (let q = 0; q < P.length; q++) P[q] -= lr * G[q];
}

// train.step's bookkeeping: `run` holds x (n, f + 1) flat, y, n, batch size, lr, order, position, epoch,
// batches; a new shuffle (`run.shuffle()`) when the next batch would not fit, the short rest dropped.
function trainBatches(net, run, count) {
  const size = Math.min(run.batch, run.n), f1 = run.f1;
  const xb = new Float64Array(size * f1), yb = new Float64Array(size);
  for (let b = 0; b < count; b++) {
    if (run.position + size > run.n) {
      run.order = run.shuffle();
      run.position = 0;
      run.epoch += 1;
    }
    for (let i = 0; i < size; i++) {
      const r = run.order[run.position + i];
      for (let k = 0; k < f1; k++) xb[i * f1 + k] = run.x[r * f1 + k];
      yb[i] = run.y[r];
    }
    sgdStep(net, xb, yb, size, run.lr);
    run.position += size;
    run.batches += 1;
  }
}

function shuffler(n, rand) {  // Fisher–Yates on the browser's own generator
  return function () {
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    for (let i = n - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); const t = order[i]; order[i] = order[j]; order[j] = t; }
    return order;
  };
}

function losses(net, run) {  // the data loss on the training and test points (dropout off, running statistics)
  const train = dataLoss(net, forward(net, run.x, run.n, false).z, run.y, run.n);
  const test = run.nTest ? dataLoss(net, forward(net, run.xTest, run.nTest, false).z, run.yTest, run.nTest) : NaN;
  return [train, test];
}

const FEATURE_FORMULAS = {  // nets/playground/features.py's FEATURES
  "x1": (u, v) => u, "x2": (u, v) => v, "x1^2": (u, v) => u * u, "x2^2": (u, v) => v * v,
  "x1x2": (u, v) => u * v, "sin x1": (u, v) => Math.sin(u), "sin x2": (u, v) => Math.sin(v),
};

function featureRows(points, features) {  // fast.inputs: the feature columns of (x1, x2, …) points, and a column of ones
  const f1 = features.length + 1, x = new Float64Array(points.length * f1);
  points.forEach(([u, v], i) => {
    features.forEach((name, k) => { x[i * f1 + k] = FEATURE_FORMULAS[name](u, v); });
    x[i * f1 + features.length] = 1;
  });
  return x;
}

function gridInputs(features, res, half) {  // (res², f + 1) feature rows over [-half, half]², from the top row
  const points = [];
  for (let r = 0; r < res; r++) for (let c = 0; c < res; c++) {
    points.push([-half + (2 * half * c) / (res - 1), half - (2 * half * r) / (res - 1)]);
  }
  return featureRows(points, features);
}

function outputValues(net, z, m) {  // model.output: [-1, 1] for two classes, z for regression, k probabilities
  if (net.classes > 2) {
    const k = net.classes, p = new Float64Array(m * k), row = new Float64Array(k);
    for (let i = 0; i < m; i++) { softmaxRow(z, i, k, row); p.set(row, i * k); }
    return p;
  }
  const out = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const v = z[i];
    out[i] = net.classes === 0 ? v : net.loss === "squared" ? Math.tanh(v) : 2 / (1 + Math.exp(-v)) - 1;
  }
  return out;
}

if (typeof module !== "undefined") {  // node, for the tests
  module.exports = { mulberry32, makeNet, forward, dataLoss, lossGrad, sgdStep, trainBatches, shuffler, losses,
                     featureRows, gridInputs, outputValues };
}

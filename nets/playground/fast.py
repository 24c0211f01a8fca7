"""The Playground's training in NumPy float64: today's rule (model.py + train.py) as whole-batch matrix steps.

The same network, loss, penalty and SGD as the PyTorch path, without a module call per batch: one
batch is a few matrix products per layer, so an epoch of TF Playground's default (25 batches of 10
points, 2-4-2-1) costs about 0.5 ms of CPU instead of about 9 ms (tests/bench_playground_fast.py).

The rule (what model.py and train.py do today, and what tests/test_playground_fast.py checks):
  batch mean of the data loss (½(a − y)², BCE on (y + 1)/2, softmax CE or ½Σ(softmax − one-hot)²)
  + rate·Σ|W| (L1) or rate·½ΣW² (L2) on the Linear weights only; one plain SGD step on the sum
  (w −= lr·(mean gradient + penalty gradient)); hidden layer = Linear → (batch norm) → activation →
  (inverted dropout); a new shuffle (torch.randperm on the state's generator) when the next batch
  would not fit, the short rest is dropped.
Where TF Playground's own updateWeights (src/nn.ts) differs, this follows today's app: TF subtracts
the data step first and then lr·rate·(sign w or w) from the updated weight, sets an L1 weight that
crosses 0 to 0 and freezes it ("dead"); and TF never reshuffles: it walks its fixed order and carries
a short batch's derivatives into the next epoch's first update.
"""
from __future__ import annotations

import numpy as np
import torch

from nets.playground import features as feats
from nets.playground.model import PlaygroundNet

EPS = 1e-5  # torch.nn.BatchNorm1d's defaults
MOMENTUM = 0.1


def _act(kind: str, h: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    if kind == "tanh":
        return np.tanh(h, out=out)
    if kind == "relu":
        return np.maximum(h, 0.0, out=out)
    if kind == "sigmoid":
        a = np.exp(-h, out=out)
        a += 1.0
        return np.divide(1.0, a, out=a)
    if out is None:
        return h
    out[...] = h
    return out


def _act_der(kind: str, a: np.ndarray) -> np.ndarray | None:
    """The activation's derivative from its output a (None: linear, the derivative is 1)."""
    if kind == "tanh":
        return 1.0 - a * a
    if kind == "relu":
        return (a > 0).astype(a.dtype)
    if kind == "sigmoid":
        return a * (1.0 - a)
    return None


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


class FastNet:
    """A PlaygroundNet's parameters as float64 arrays, all in one flat vector so one SGD update is two
    operations. Layer l is Wb[l], (in + 1, out): W with b as its last row, applied to inputs that carry
    a column of ones (inputs() adds it), so a @ Wb[l] is a @ W + b and a.T @ dz gives dW and db at once."""

    def __init__(self, widths, activation="tanh", loss="squared", classes=2, dropout=0.0, regularization="none",
                 reg_rate=0.0, batch_norm=False, seed=None):
        self.widths, self.activation, self.loss, self.classes = list(widths), activation, loss, classes
        self.dropout, self.regularization, self.reg_rate = dropout, regularization, reg_rate
        shapes = [(a + 1, b) for a, b in zip(self.widths, self.widths[1:])]
        ends = np.cumsum([0] + [a * b for a, b in shapes])
        self.params, self.grads = np.zeros(ends[-1]), np.zeros(ends[-1])
        self.Wb = [self.params[i:j].reshape(s) for i, j, s in zip(ends, ends[1:], shapes)]
        self.G = [self.grads[i:j].reshape(s) for i, j, s in zip(ends, ends[1:], shapes)]
        self.is_weight = np.ones_like(self.params)  # the penalty's mask: weights, not biases
        for Wb in [self.is_weight[i:j].reshape(s) for i, j, s in zip(ends, ends[1:], shapes)]:
            Wb[-1] = 0.0
        self.bn = [{"gamma": np.ones(n), "beta": np.zeros(n), "mean": np.zeros(n), "var": np.ones(n), "count": 0}
                   for n in self.widths[1:-1]] if batch_norm else []
        self.rng = np.random.default_rng(seed)  # dropout's masks
        self._buffers = {}  # batch size -> each hidden layer's output with its column of ones

    @property
    def W(self) -> list[np.ndarray]:
        """Views of each layer's W (in, out)."""
        return [Wb[:-1] for Wb in self.Wb]

    @property
    def b(self) -> list[np.ndarray]:
        return [Wb[-1] for Wb in self.Wb]

    @classmethod
    def from_model(cls, model: PlaygroundNet, seed: int | None = None) -> "FastNet":
        cfg, lin = model.cfg, [block[0] for block in model.hidden] + [model.out]
        net = cls([lin[0].in_features] + [m.out_features for m in lin], cfg.activation, cfg.loss, model.classes,
                  cfg.dropout, cfg.regularization, cfg.reg_rate, cfg.batch_norm, seed)
        net.read(model)
        return net

    def read(self, model: PlaygroundNet) -> None:
        """Copy every parameter (and batch norm's running statistics) from the PyTorch model."""
        for Wb, m in zip(self.Wb, [block[0] for block in model.hidden] + [model.out]):
            Wb[:-1] = m.weight.detach().double().numpy().T
            Wb[-1] = m.bias.detach().double().numpy()
        for s, block in zip(self.bn, model.hidden):
            m = block[1]
            s.update(gamma=m.weight.detach().double().numpy().copy(), beta=m.bias.detach().double().numpy().copy(),
                     mean=m.running_mean.double().numpy().copy(), var=m.running_var.double().numpy().copy(),
                     count=int(m.num_batches_tracked))

    def to_model(self, model: PlaygroundNet) -> None:
        """Write every parameter (and batch norm's running statistics) back into the PyTorch model."""
        lin = [block[0] for block in model.hidden] + [model.out]
        with torch.no_grad():
            for m, Wb in zip(lin, self.Wb):
                m.weight.copy_(torch.from_numpy(Wb[:-1].T))
                m.bias.copy_(torch.from_numpy(Wb[-1]))
            for block, s in zip(model.hidden, self.bn):
                m = block[1]
                m.weight.copy_(torch.from_numpy(s["gamma"]))
                m.bias.copy_(torch.from_numpy(s["beta"]))
                m.running_mean.copy_(torch.from_numpy(s["mean"]))
                m.running_var.copy_(torch.from_numpy(s["var"]))
                m.num_batches_tracked.fill_(s["count"])

    def _outputs(self, m: int) -> list[np.ndarray]:
        """Reused (m, width + 1) arrays for each hidden layer's output, the last column ones."""
        if m not in self._buffers:
            self._buffers[m] = [np.ones((m, n + 1)) for n in self.widths[1:-1]]
        return self._buffers[m]

    def forward(self, x: np.ndarray, train: bool = False) -> tuple[np.ndarray, list]:
        """The output layer's z for points x (n, f + 1) with their column of ones, and what backward
        needs: per layer (its input, the activation before dropout, dropout's mask, batch norm's x̂ and
        1/σ). The inputs it returns are reused by the next call with as many points."""
        cache, a = [], x
        for l, out in enumerate(self._outputs(len(x))):
            h = a @ self.Wb[l]
            norm = None
            if self.bn:
                s = self.bn[l]
                if train:
                    mu, var = h.mean(0), h.var(0)
                    n = len(h)
                    s["mean"] = (1 - MOMENTUM) * s["mean"] + MOMENTUM * mu
                    s["var"] = (1 - MOMENTUM) * s["var"] + MOMENTUM * var * n / (n - 1)
                    s["count"] += 1
                else:
                    mu, var = s["mean"], s["var"]
                inv = 1.0 / np.sqrt(var + EPS)
                xhat = (h - mu) * inv
                h = s["gamma"] * xhat + s["beta"]
                norm = (xhat, inv)
            act, mask = out[:, :-1], None
            if train and self.dropout:
                act = _act(self.activation, h)
                mask = (self.rng.random(act.shape) >= self.dropout) / (1.0 - self.dropout)
                np.multiply(act, mask, out=out[:, :-1])
            else:
                _act(self.activation, h, out=act)
            cache.append((a, act, mask, norm))
            a = out
        cache.append((a, None, None, None))
        return a @ self.Wb[-1], cache

    def data_loss(self, z: np.ndarray, y: np.ndarray) -> float:
        """model.loss: the mean data loss over the points."""
        if self.classes > 2:
            k = y.astype(np.int64)
            if self.loss == "cross-entropy":
                zs = z - z.max(1, keepdims=True)
                return float(np.mean(np.log(np.exp(zs).sum(1)) - zs[np.arange(len(k)), k]))
            return float(0.5 * ((_softmax(z) - np.eye(self.classes)[k]) ** 2).sum(1).mean())
        z = z[:, 0]
        if self.classes == 2 and self.loss == "cross-entropy":
            t = (y + 1) / 2
            return float(np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))))
        a = np.tanh(z) if self.classes == 2 else z
        return float(0.5 * np.mean((a - y) ** 2))

    def loss_grad(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """d(mean data loss)/dz for the output layer's z (n, outputs)."""
        n = len(z)
        if self.classes > 2:
            p, onehot = _softmax(z), np.eye(self.classes)[y.astype(np.int64)]
            if self.loss == "cross-entropy":
                return (p - onehot) / n
            dp = (p - onehot) / n
            return p * (dp - (dp * p).sum(1, keepdims=True))
        if self.classes == 2 and self.loss == "cross-entropy":
            return (1.0 / (1.0 + np.exp(-z)) - (y[:, None] + 1) / 2) / n
        if self.classes == 2:
            a = np.tanh(z)
            return (a - y[:, None]) * (1.0 - a * a) / n
        return (z - y[:, None]) / n

    def sgd_step(self, x: np.ndarray, y: np.ndarray, lr: float) -> None:
        """One batch (x with its column of ones): forward in training mode, backward, then
        w −= lr·(data gradient + penalty gradient) for every weight and bias at once."""
        z, cache = self.forward(x, train=True)
        dz = self.loss_grad(z, y)
        for l in range(len(self.Wb) - 1, -1, -1):
            np.matmul(cache[l][0].T, dz, out=self.G[l])
            if l > 0:  # back through hidden layer l − 1: dropout, activation, batch norm
                _, act, mask, norm = cache[l - 1]
                dz = dz @ self.Wb[l][:-1].T
                if mask is not None:
                    dz *= mask
                der = _act_der(self.activation, act)
                if der is not None:
                    dz *= der
                if norm is not None:
                    xhat, inv = norm
                    s, n = self.bn[l - 1], len(dz)
                    dgamma, dbeta = (dz * xhat).sum(0), dz.sum(0)
                    dz = s["gamma"] * inv / n * (n * dz - dbeta - xhat * dgamma)
                    s["gamma"] -= lr * dgamma
                    s["beta"] -= lr * dbeta
        if self.regularization != "none" and self.reg_rate:
            slope = np.sign(self.params) if self.regularization == "L1" else self.params
            self.grads += self.reg_rate * (slope * self.is_weight)
        self.grads *= lr
        self.params -= self.grads


def inputs(state, test: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The state's training (or test) feature columns in float64 (from the float32 points) with a
    column of ones, and the labels."""
    points, labels = (state.data.test_x, state.data.test_y) if test else (state.data.train_x, state.data.train_y)
    x = feats.columns(points, state.cfg.features, torch.float64).numpy()
    return np.hstack([x, np.ones((len(x), 1))]), labels.astype(np.float64)


def step(state, net: FastNet, n_batches: int, x: np.ndarray | None = None, y: np.ndarray | None = None) -> None:
    """train.step's bookkeeping (order, position, epoch, batches) with FastNet's SGD steps; the same
    shuffles (torch.randperm on state.shuffle). The PyTorch model is not touched: net.to_model(state.model)."""
    if x is None:
        x, y = inputs(state)
    n, lr = len(y), state.cfg.learning_rate
    size = min(state.cfg.batch_size, n)
    with np.errstate(over="ignore", invalid="ignore"):  # too high a rate diverges: a lesson, not a warning
        while n_batches > 0:
            if state.position + size > n:
                state.order = torch.randperm(n, generator=state.shuffle)
                state.position, state.epoch = 0, state.epoch + 1
            k = min(n_batches, (n - state.position) // size)
            idx = state.order[state.position:state.position + k * size].numpy()
            xb, yb = x[idx].reshape(k, size, -1), y[idx].reshape(k, size)
            for j in range(k):
                net.sgd_step(xb[j], yb[j], lr)
            state.position += k * size
            state.batches += k
            n_batches -= k

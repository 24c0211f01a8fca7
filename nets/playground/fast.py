"""The Playground's training in NumPy float64: today's rule (model.py + train.py) as whole-batch matrix steps.

The same network, loss, penalty and SGD as the PyTorch path, without a module call per batch: one
batch is a few matrix products per layer, so an epoch of TF Playground's default (25 batches of 10
points, 2-4-2-1) costs about a millisecond instead of about 25 ms.

The rule (what model.py and train.py do today, and what tests/test_playground_fast.py checks):
  batch mean of the data loss (½(a − y)², BCE on (y + 1)/2, softmax CE or ½Σ(softmax − one-hot)²)
  + rate·Σ|W| (L1) or rate·½ΣW² (L2) on the Linear weights only; one plain SGD step on the sum
  (w −= lr·(mean gradient + penalty gradient)); hidden layer = Linear → (batch norm) → activation →
  (inverted dropout); a new shuffle (torch.randperm on the state's generator) when the next batch
  would not fit, the short rest is dropped.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from nets.playground import features as feats
from nets.playground.model import PlaygroundNet

EPS = 1e-5  # torch.nn.BatchNorm1d's defaults
MOMENTUM = 0.1


def _act(kind: str, h: np.ndarray) -> np.ndarray:
    if kind == "tanh":
        return np.tanh(h)
    if kind == "relu":
        return np.maximum(h, 0.0)
    if kind == "sigmoid":
        return 1.0 / (1.0 + np.exp(-h))
    return h


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


@dataclass
class FastNet:
    """A PlaygroundNet's parameters as float64 arrays: W[l] is (in, out), so a layer is a @ W + b."""
    W: list[np.ndarray]
    b: list[np.ndarray]
    activation: str
    loss: str
    classes: int
    dropout: float = 0.0
    regularization: str = "none"
    reg_rate: float = 0.0
    bn: list[dict] = field(default_factory=list)  # per hidden layer: gamma, beta, mean, var, count
    rng: np.random.Generator = field(default_factory=np.random.default_rng)  # dropout's masks

    @classmethod
    def from_model(cls, model: PlaygroundNet, seed: int | None = None) -> "FastNet":
        cfg, lin = model.cfg, [block[0] for block in model.hidden] + [model.out]
        bn = []
        for block in model.hidden if cfg.batch_norm else ():
            m = block[1]
            bn.append({"gamma": m.weight.detach().double().numpy().copy(),
                       "beta": m.bias.detach().double().numpy().copy(),
                       "mean": m.running_mean.double().numpy().copy(), "var": m.running_var.double().numpy().copy(),
                       "count": int(m.num_batches_tracked)})
        return cls([m.weight.detach().double().numpy().T.copy() for m in lin],
                   [m.bias.detach().double().numpy().copy() for m in lin],
                   cfg.activation, cfg.loss, model.classes, cfg.dropout, cfg.regularization, cfg.reg_rate,
                   bn, np.random.default_rng(seed))

    def to_model(self, model: PlaygroundNet) -> None:
        """Write every parameter (and batch norm's running statistics) back into the PyTorch model."""
        lin = [block[0] for block in model.hidden] + [model.out]
        with torch.no_grad():
            for m, W, b in zip(lin, self.W, self.b):
                m.weight.copy_(torch.from_numpy(W.T))
                m.bias.copy_(torch.from_numpy(b))
            for block, s in zip(model.hidden, self.bn):
                m = block[1]
                m.weight.copy_(torch.from_numpy(s["gamma"]))
                m.bias.copy_(torch.from_numpy(s["beta"]))
                m.running_mean.copy_(torch.from_numpy(s["mean"]))
                m.running_var.copy_(torch.from_numpy(s["var"]))
                m.num_batches_tracked.fill_(s["count"])

    def forward(self, x: np.ndarray, train: bool = False) -> tuple[np.ndarray, list]:
        """The output layer's z for points x (n, f), and what backward needs: per hidden layer
        (input, activation output, dropout mask or None, batch norm's x̂ and 1/σ or None)."""
        cache, a = [], x
        for i in range(len(self.W) - 1):
            h = a @ self.W[i] + self.b[i]
            norm = None
            if self.bn:
                s = self.bn[i]
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
            out = _act(self.activation, h)
            mask = None
            if train and self.dropout:
                mask = (self.rng.random(out.shape) >= self.dropout) / (1.0 - self.dropout)
            cache.append((a, out, mask, norm))
            a = out if mask is None else out * mask
        cache.append((a, None, None, None))
        return a @ self.W[-1] + self.b[-1], cache

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
        """One batch: forward in training mode, backward, w −= lr·(data gradient + penalty gradient)."""
        z, cache = self.forward(x, train=True)
        dz = self.loss_grad(z, y)
        kind, rate = self.regularization, self.reg_rate
        for i in range(len(self.W) - 1, -1, -1):
            dW, db = cache[i][0].T @ dz, dz.sum(0)
            if i > 0:  # back through hidden layer i − 1: dropout, activation, batch norm
                _, out, mask, norm = cache[i - 1]
                da = dz @ self.W[i].T
                if mask is not None:
                    da = da * mask
                der = _act_der(self.activation, out)
                dz = da if der is None else da * der
                if norm is not None:
                    xhat, inv = norm
                    s, n = self.bn[i - 1], len(dz)
                    dgamma, dbeta = (dz * xhat).sum(0), dz.sum(0)
                    dz = s["gamma"] * inv / n * (n * dz - dbeta - xhat * dgamma)
                    s["gamma"] -= lr * dgamma
                    s["beta"] -= lr * dbeta
            if kind != "none" and rate:
                dW = dW + rate * (np.sign(self.W[i]) if kind == "L1" else self.W[i])
            self.W[i] -= lr * dW
            self.b[i] -= lr * db


def inputs(state) -> tuple[np.ndarray, np.ndarray]:
    """The state's training feature columns and labels in float64 (from the float32 points)."""
    x = feats.columns(state.data.train_x, state.cfg.features, torch.float64).numpy()
    return x, state.data.train_y.astype(np.float64)


def step(state, net: FastNet, n_batches: int, x: np.ndarray | None = None, y: np.ndarray | None = None) -> None:
    """train.step's bookkeeping (order, position, epoch, batches) with FastNet's SGD steps; the same
    shuffles (torch.randperm on state.shuffle). The PyTorch model is not touched: net.to_model(state.model)."""
    if x is None:
        x, y = inputs(state)
    n = len(y)
    size = min(state.cfg.batch_size, n)
    lr = state.cfg.learning_rate
    left = n_batches
    while left > 0:
        if state.position + size > n:
            state.order = torch.randperm(n, generator=state.shuffle)
            state.position, state.epoch = 0, state.epoch + 1
        k = min(left, (n - state.position) // size)
        idx = state.order[state.position:state.position + k * size].numpy()
        xb, yb = x[idx].reshape(k, size, -1), y[idx].reshape(k, size)
        for j in range(k):
            net.sgd_step(xb[j], yb[j], lr)
        state.position += k * size
        state.batches += k
        left -= k

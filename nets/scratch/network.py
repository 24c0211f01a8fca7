"""A fully connected network in NumPy with backpropagation written out, in the lecture's notation.

For a batch of m examples, one per row (so a layer is `a @ W.T`, the row form of z = W a + b):

    forward    z^l = a^(l-1) W^l.T + b^l,    a^l = f(z^l),    a^L = softmax(z^L),    a^0 = X
    loss       C = -(1/m) sum_i log a^L_(i, y_i)                               (cross-entropy)
    backward   delta^L = (a^L - Y) / m                                         (softmax + cross-entropy)
               dC/dW^l = delta^l.T a^(l-1),    dC/db^l = sum_i delta^l_i
               delta^(l-1) = f'(z^(l-1)) * (delta^l W^l)                       (the chain rule)
    update     W^l <- W^l - lr dC/dW^l                                         (mini-batch SGD)

Every activation has its derivative right below it, written as "multiply the incoming gradient by
f'(z)" so that softmax (whose derivative is a matrix per example) fits the same mould.
The training loop and saving live here too (the data in nets/scratch/data.py); `python -m nets scratch`
trains from the command line (see nets/scratch/cli.py, also for the speed comparison with PyTorch).
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np

from nets import formulas
from nets.scratch.data import ScratchData, load_scratch_data, split_80_10_10  # noqa: F401  (part of this API)

DEFAULT_HIDDEN = (256, 128, 64)
INITS = ("normal", "random", "zero")   # random = uniform
SCALES = {"he": "√(2/n_in)", "xavier": "√(1/n_in)"}  # the std's rule; or a number: the std itself


class ScratchError(ValueError):
    """A bad setting or a weights file that does not fit; the message says which."""


# ------------------------------------------------------------------ activations and derivatives
def relu(z):
    return np.maximum(z, 0)


def relu_grad(z, a, da):
    return da * (z > 0)  # f'(0) taken as 0: with zero weights nothing flows (see zero init)


sigmoid = formulas.sigmoid  # in z's own float type: the network's float32 stays float32


def sigmoid_grad(z, a, da):
    return da * a * (1 - a)  # at most 1/4: a product of many of these vanishes


def tanh(z):
    return np.tanh(z)


def tanh_grad(z, a, da):
    return da * (1 - a * a)


def linear(z):
    return z


def linear_grad(z, a, da):
    return da


def softmax(z):
    return formulas.softmax(z, axis=1)  # one row per example


def softmax_grad(z, a, da):
    # The Jacobian diag(a) - a a.T applied to da, without building the m×n×n tensor.
    return a * (da - (da * a).sum(axis=1, keepdims=True))


def log_softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


# What the hidden layers may use: name → (f, the "multiply by f'(z)" function backward calls).
HIDDEN_ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "relu": (relu, relu_grad), "tanh": (tanh, tanh_grad), "sigmoid": (sigmoid, sigmoid_grad),
    "linear": (linear, linear_grad), "softmax": (softmax, softmax_grad),
}


def cross_entropy(z_L, y) -> float:
    """Mean cross-entropy from the output layer's z (log-softmax: no log(0), no overflow)."""
    return float(-log_softmax(z_L)[np.arange(len(y)), y].mean())


# ------------------------------------------------------------------ initialisation
def init_std(fan_in: int, scale: str | float = "he") -> float:
    """The weights' standard deviation: He √(2/n_in) suits ReLU, Xavier √(1/n_in) tanh, or a number."""
    if scale == "he":
        return float(np.sqrt(2 / fan_in))
    if scale == "xavier":
        return float(np.sqrt(1 / fan_in))
    try:
        return float(scale)
    except (TypeError, ValueError):
        raise ScratchError(f"Scale must be one of {tuple(SCALES)} or a number, got {scale!r}.") from None


def init_layers(sizes, init="normal", scale="he", seed=0, dtype=np.float32):
    """W^l (n_out × n_in) for each layer and zero biases. Uniform draws on ±√3·std have the same
    variance as the normal ones, so the two differ only in shape."""
    if init not in INITS:
        raise ScratchError(f"Initialisation must be one of {INITS}, got {init!r}.")
    rng = np.random.default_rng(seed)
    W, b = [], []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        std = init_std(n_in, scale)
        if init == "normal":
            W.append(rng.normal(0, std, (n_out, n_in)).astype(dtype))
        elif init == "random":
            W.append(rng.uniform(-np.sqrt(3) * std, np.sqrt(3) * std, (n_out, n_in)).astype(dtype))
        else:
            W.append(np.zeros((n_out, n_in), dtype))
        b.append(np.zeros(n_out, dtype))
    return W, b


def describe_init(sizes, init="normal", scale="he") -> str:
    if init == "zero":
        return "every weight and bias starts at 0"
    stds = [init_std(n, scale) for n in sizes[:-1]]
    shape = "normal N(0, std²)" if init == "normal" else "uniform on ±√3·std"
    rule = f"std = {SCALES[scale]}" if scale in SCALES else f"std = {init_std(1, scale):g}"
    return f"{shape}, {rule}: " + ", ".join(f"{s:.4g}" for s in stds) + " by layer; biases 0"


# ------------------------------------------------------------------ the network
class Network:
    def __init__(self, sizes=(784, *DEFAULT_HIDDEN, 10), activation="relu", init="normal", scale="he",
                 seed=0, dtype=np.float32):
        sizes = tuple(int(n) for n in sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise ScratchError(f"Layer sizes must be at least an input and an output size, all ≥ 1: {sizes}.")
        if activation not in HIDDEN_ACTIVATIONS:
            raise ScratchError(f"Activation must be one of {tuple(HIDDEN_ACTIVATIONS)}, got {activation!r}.")
        self.sizes, self.activation, self.dtype = sizes, activation, np.dtype(dtype)
        self.W, self.b = init_layers(sizes, init, scale, seed, self.dtype)

    def architecture(self) -> dict:
        return {"sizes": list(self.sizes), "activation": self.activation, "output": "softmax"}

    def forward(self, X):
        """All z^l and a^l (a[0] is the input), kept for backpropagation."""
        f = HIDDEN_ACTIVATIONS[self.activation][0]
        a, z = [X.astype(self.dtype, copy=False)], []
        for l, (W, b) in enumerate(zip(self.W, self.b)):
            z.append(a[-1] @ W.T + b)
            a.append(softmax(z[-1]) if l == len(self.W) - 1 else f(z[-1]))
        return z, a

    def backward(self, z, a, y):
        """dC/dW^l and dC/db^l for every layer, from the forward pass's z and a."""
        f_grad = HIDDEN_ACTIVATIONS[self.activation][1]
        m = len(y)
        delta = a[-1].copy()
        delta[np.arange(m), y] -= 1
        delta /= m
        dW, db = [None] * len(self.W), [None] * len(self.W)
        for l in range(len(self.W) - 1, -1, -1):
            dW[l], db[l] = delta.T @ a[l], delta.sum(axis=0)
            if l > 0:
                delta = f_grad(z[l - 1], a[l], delta @ self.W[l])
        return dW, db

    def gradients(self, X, y):
        z, a = self.forward(X)
        return cross_entropy(z[-1], y), *self.backward(z, a, y)

    def sgd_step(self, X, y, lr: float) -> tuple[float, int]:
        """One update on one batch; returns the batch's loss and how many it got right."""
        z, a = self.forward(X)
        loss, correct = cross_entropy(z[-1], y), int((a[-1].argmax(axis=1) == y).sum())
        dW, db = self.backward(z, a, y)
        for W, b, gW, gb in zip(self.W, self.b, dW, db):
            W -= lr * gW
            b -= lr * gb
        return loss, correct

    def logits(self, X, chunk: int = 4096):
        return np.concatenate([self.forward(X[i:i + chunk])[0][-1] for i in range(0, len(X), chunk)])

    def predict_proba(self, X):
        return softmax(self.logits(X))

    def predict(self, X):
        return self.logits(X).argmax(axis=1)

    def score(self, X, y) -> float:
        return float((self.predict(X) == y).mean())

    def evaluate(self, X, y) -> tuple[float, float]:
        z_L = self.logits(X)
        return cross_entropy(z_L, y), float((z_L.argmax(axis=1) == y).mean())

    # -------------------------------------------------------------- weights on disk (.npz, no pickle)
    def save(self, path, epoch: int | None = None):
        """Write W^l, b^l and the architecture to `path` (a file name or a binary file object)."""
        arrays = {f"W{l}": W for l, W in enumerate(self.W)} | {f"b{l}": b for l, b in enumerate(self.b)}
        meta = np.array(json.dumps(self.architecture() | {"epoch": epoch}))
        if hasattr(path, "write"):
            np.savez(path, architecture=meta, **arrays)
            return path
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:  # a file object: np.savez would otherwise append ".npz"
            np.savez(f, architecture=meta, **arrays)
        return path

    def load_weights(self, path) -> dict:
        """Replace this network's weights with the file's, after checking the architecture matches."""
        return self._take(path, *read_weights(path))

    def _take(self, path, meta: dict, W: list, b: list) -> dict:
        ours = self.architecture()
        if {k: meta.get(k) for k in ours} != ours:
            raise ScratchError(f"{path} holds a network {describe(meta)}, not {describe(ours)}.")
        self.W, self.b = [w.astype(self.dtype) for w in W], [v.astype(self.dtype) for v in b]
        return meta

    @classmethod
    def load(cls, path, dtype=np.float32) -> "Network":
        """A network built from the file's architecture, holding its weights."""
        meta, W, b = read_weights(path)  # read once: `path` may be a file object
        net = cls(meta["sizes"], meta["activation"], init="zero", dtype=dtype)
        net._take(path, meta, W, b)
        return net


def describe(arch: dict) -> str:
    return "-".join(map(str, arch.get("sizes", []))) + f" with {arch.get('activation')}"


def read_weights(path):
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["architecture"]))
            n = len(meta["sizes"]) - 1
            W, b = [z[f"W{l}"] for l in range(n)], [z[f"b{l}"] for l in range(n)]
    except (OSError, KeyError, ValueError, TypeError) as e:
        raise ScratchError(f"{path} is not a weights file of this lab: {e}") from e
    shapes = list(zip(meta["sizes"][1:], meta["sizes"][:-1]))
    if [w.shape for w in W] != shapes or [v.shape for v in b] != [(o,) for o, _ in shapes]:
        raise ScratchError(f"{path}: weight shapes {[w.shape for w in W]} do not match {describe(meta)}.")
    return meta, W, b


# ------------------------------------------------------------------ training
def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """A fresh shuffle every epoch, the same for anyone who asks (the PyTorch twin does)."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def fit(net: Network, data: ScratchData, epochs: int = 10, lr: float = 0.1, batch_size: int = 32,
        seed: int = 0, on_epoch: Callable[[dict], None] | None = None, stop: threading.Event | None = None,
        save_at=(), save_dir=None) -> list[dict]:
    """Mini-batch SGD. After each epoch records training loss and accuracy (means over the epoch's
    batches) and validation loss and accuracy, hands the record to `on_epoch`, and saves the
    weights when the epoch is in `save_at`. Setting `stop` ends training after the current batch."""
    if lr <= 0 or batch_size < 1 or epochs < 1:
        raise ScratchError("Learning rate must be > 0, batch size and epochs at least 1.")
    history = []
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        # A run whose steps are too large overflows to inf and NaN: that is reported as "diverged"
        # (and training ends) instead of flooding the log with warnings.
        with np.errstate(over="ignore", invalid="ignore"):
            trained = _sgd_epoch(net, data.x_train, data.y_train, epoch_order(seed, epoch, len(data.x_train)),
                                 lr, batch_size, stop)
            if trained is None:
                return history
            val_loss, val_acc = net.evaluate(data.x_val, data.y_val)
        record = {"epoch": epoch, "train_loss": trained[0], "train_acc": trained[1], "val_loss": val_loss,
                  "val_acc": val_acc, "seconds": time.perf_counter() - started,
                  "diverged": not np.isfinite(trained[0])}
        history.append(record)
        if epoch in save_at and save_dir is not None:
            net.save(Path(save_dir) / f"epoch-{epoch:03d}.npz", epoch)
        if on_epoch is not None:
            on_epoch(record)
        if record["diverged"]:
            break
    return history


def _sgd_epoch(net: Network, x, y, order, lr: float, batch_size: int, stop) -> tuple[float, float] | None:
    """One pass over the batches `order` defines: (mean loss, accuracy), or None when stopped."""
    total_loss = correct = seen = 0
    for start in range(0, len(order), batch_size):
        if stop is not None and stop.is_set():
            return None
        idx = order[start:start + batch_size]
        loss, right = net.sgd_step(x[idx], y[idx], lr)
        total_loss, correct, seen = total_loss + loss * len(idx), correct + right, seen + len(idx)
        if not np.isfinite(loss):
            break
    return total_loss / seen, correct / seen

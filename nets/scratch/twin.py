"""The NumPy network's PyTorch twin: same layers, same initial weights, trained on the same batches.

This is not a training engine (that is nets/engine/train.py): it is the smallest loop that lets the lab show
that backpropagation by hand and autograd follow the same loss curve, and lets the benchmark time the
two on identical work. Gradients come from `torch.autograd.grad`, the update is plain SGD.
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nets.scratch.network import Network

TORCH_ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "linear": nn.Identity,
                     "softmax": lambda: nn.Softmax(dim=1)}


def torch_twin(net: Network) -> nn.Sequential:
    """nn.Linear layers holding copies of the network's current W and b (same dtype), the hidden
    activation between them; the output is logits (softmax sits inside the loss)."""
    dtype = torch.float64 if net.dtype == np.float64 else torch.float32
    layers: list[nn.Module] = []
    for l, (W, b) in enumerate(zip(net.W, net.b)):
        linear = nn.Linear(W.shape[1], W.shape[0], dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        if l < len(net.W) - 1:
            layers.append(TORCH_ACTIVATIONS[net.activation]())
    return nn.Sequential(*layers)


def as_tensors(x: np.ndarray, y: np.ndarray, model: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    dtype = next(model.parameters()).dtype
    return torch.from_numpy(x).to(dtype), torch.from_numpy(y).long()


def twin_sgd_epoch(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor, order: np.ndarray, lr: float,
                   batch_size: int, stop=None) -> tuple[float, float] | None:
    """One epoch of plain SGD over the batches `order` defines (the NumPy network's order).
    Returns (mean loss, accuracy) over the epoch's batches, or None when stopped."""
    params = list(model.parameters())
    order = torch.from_numpy(order)
    total_loss = torch.zeros((), dtype=torch.float64)
    correct = torch.zeros((), dtype=torch.int64)
    for start in range(0, len(order), batch_size):
        if stop is not None and stop.is_set():
            return None
        idx = order[start:start + batch_size]
        xb, yb = x[idx], y[idx]
        logits = model(xb)
        loss = F.cross_entropy(logits, yb)
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            torch._foreach_add_(params, grads, alpha=-lr)
            total_loss += loss.detach() * len(idx)
            correct += (logits.argmax(1) == yb).sum()
    return float(total_loss) / len(order), int(correct) / len(order)


@torch.no_grad()
def twin_evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    logits = model(x)
    return float(F.cross_entropy(logits, y)), float((logits.argmax(1) == y).float().mean())


@contextmanager
def torch_threads(n: int):
    """Run a block with `n` intra-op threads, then restore the count. For batches of 32 the ops are
    tiny: on 2 busy cores one epoch of the twin took 0.1 s with one thread and 4.6-6.8 s with two
    (the threads wait for each other). torch keeps the count process-wide: use it only in a process
    that is the job's (a worker, the command line), never in the web server's."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)

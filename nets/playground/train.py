"""Playground training on the server (Step, lessons, tests: the browser trains while Play is on), losses, and the network over the plane."""
from __future__ import annotations


import numpy as np
import torch

from nets.playground import edges, fast
from nets.playground import features as feats
from nets.playground.data import DOMAIN
from nets.playground.model import loss, output, penalty
from nets.playground.state import PlaygroundState

MAX_HISTORY = 400  # points in the loss curve; halved when full, so every redraw stays small


def epoch_batches(state: PlaygroundState) -> int:
    """Batches in one epoch (Step): the last short batch is dropped."""
    return max(len(state.train_y) // min(state.cfg.batch_size, len(state.train_y)), 1)


def step(state: PlaygroundState, n_batches: int = 1, keep: bool = True) -> None:
    """n mini-batch SGD steps on the data loss + penalty (torch_step's rule, in NumPy: fast.py); a new
    shuffle at each epoch's end; then the model shows the new weights; the losses go into the history
    unless keep is False."""
    fast.step(state, state.net, n_batches, *state.xy)
    state.net.to_model(state.model)
    state.edits += 1  # a browser training this network starts again from the server's
    if keep:
        record(state)


def edit_weight(state: PlaygroundState, w: edges.Weight, new: float) -> None:
    """One weight set by hand (edges.set_weight's checks); training goes on from it."""
    edges.set_weight(state.model, w, new)
    state.net.read(state.model)
    state.edits += 1


def torch_step(state: PlaygroundState, n_batches: int = 1, keep: bool = True) -> None:
    """The rule in PyTorch module calls, as the page trained before fast.py (10–17× slower:
    tests/bench_playground_fast.py): the reference that tests/test_playground_fast.py holds fast.py to.
    It trains state.model, not state.net."""
    model, n = state.model, len(state.train_y)
    size = min(state.cfg.batch_size, n)
    model.train()
    for _ in range(n_batches):
        if state.position + size > n:  # the last short batch is dropped: batch norm needs ≥ 2
            state.order = torch.randperm(n, generator=state.shuffle)
            state.position, state.epoch = 0, state.epoch + 1
        idx = state.order[state.position:state.position + size]
        state.position += size
        state.optimizer.zero_grad(set_to_none=True)
        objective = loss(model, model(state.train_x[idx]), state.train_y[idx]) + penalty(model)
        objective.backward()
        state.optimizer.step()
        state.batches += 1
    if keep:
        state.history.append((state.epochs_done(), *torch_losses(state)))


def losses(state: PlaygroundState) -> tuple[float, float]:
    """The data loss (no penalty, dropout off, batch norm's running statistics) on the training and test points."""
    net = state.net
    with np.errstate(over="ignore", invalid="ignore"):
        train = net.data_loss(net.forward(state.xy[0])[0], state.xy[1])
        test = net.data_loss(net.forward(state.test_xy[0])[0], state.test_xy[1]) if len(state.test_y) else float("nan")
    return train, test


def torch_losses(state: PlaygroundState) -> tuple[float, float]:
    """losses() from state.model in PyTorch (the reference)."""
    model = state.model
    model.eval()
    with torch.no_grad():
        train = loss(model, model(state.train_x), state.train_y).item()
        test = loss(model, model(state.test_x), state.test_y).item() if len(state.test_y) else float("nan")
    return train, test


def record(state: PlaygroundState) -> None:
    state.history.append((state.epochs_done(), *losses(state)))
    if len(state.history) > MAX_HISTORY:
        state.history[:] = state.history[::2]


def grid(resolution: int) -> np.ndarray:
    """(resolution², 2) points over [-6, 6]², row by row from the top (x2 = 6) as an image is drawn."""
    axis = np.linspace(-DOMAIN, DOMAIN, resolution, dtype=np.float32)
    x1, x2 = np.meshgrid(axis, axis[::-1])
    return np.stack([x1.ravel(), x2.ravel()], 1)


def boundary(state: PlaygroundState, resolution: int = 100) -> np.ndarray:
    """The network's output over the grid: (res, res) in [-1, 1] (or the regression value), or
    (res, res, k) class probabilities."""
    model = state.model
    model.eval()
    with torch.no_grad():
        a = output(model, model(feats.columns(grid(resolution), state.cfg.features))).numpy()
    return a.reshape(resolution, resolution, *a.shape[1:])


def neuron_maps(state: PlaygroundState, resolution: int = 20) -> tuple[np.ndarray, list[np.ndarray]]:
    """Thumbnails: each input feature (f, res, res) and each hidden layer's neurons (n, res, res)."""
    model = state.model
    model.eval()
    x = feats.columns(grid(resolution), state.cfg.features)
    with torch.no_grad():
        layers = model.activations(x)
    shape = (resolution, resolution)
    inputs = x.T.reshape(-1, *shape).numpy()
    return inputs, [a.T.reshape(-1, *shape).numpy() for a in layers]


def weights(state: PlaygroundState) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W (out, in), b) of every layer, hidden then output: an edge's colour is W's sign, its width |W|."""
    linears = [block[0] for block in state.model.hidden] + [state.model.out]
    return [(m.weight.detach().numpy().copy(), m.bias.detach().numpy().copy()) for m in linears]

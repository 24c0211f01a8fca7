"""Playground weights one by one: each edge and bias by its diagram name (x1 → h1.1), read and set."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from nets.playground.model import MAX_WEIGHT, PlaygroundNet, linears


@dataclass(frozen=True)
class Weight:
    index: int  # its place in model.flat_weights (and so in a link's weights)
    layer: int  # the Linear it belongs to, from 0: hidden layer 1's, …, the output's last
    src: int | None  # the neuron (or input feature) it comes from; None for a bias
    dst: int  # the neuron it goes into
    name: str  # "x1 → h1.1", "h2.1 → out", "bias of h1.2"


def neuron_names(model: PlaygroundNet, features) -> list[list[str]]:
    """The diagram's columns by name: the features, h<layer>.<neuron> for hidden neurons (from 1),
    then "out" (one output unit) or "out.<class>" (k classes, from 1)."""
    layers = linears(model)
    columns = [list(features)]
    for i, m in enumerate(layers[:-1]):
        columns.append([f"h{i + 1}.{j + 1}" for j in range(m.out_features)])
    k = layers[-1].out_features
    columns.append(["out"] if k == 1 else [f"out.{c + 1}" for c in range(k)])
    return columns


def listing(model: PlaygroundNet, features) -> list[Weight]:
    """Every W[dst, src] then every b[dst], layer after layer: flat_weights' order."""
    names, result = neuron_names(model, features), []
    for layer, m in enumerate(linears(model)):
        into, come = names[layer + 1], names[layer]
        for dst in range(m.out_features):
            for src in range(m.in_features):
                result.append(Weight(len(result), layer, src, dst, f"{come[src]} → {into[dst]}"))
        for dst in range(m.out_features):
            result.append(Weight(len(result), layer, None, dst, f"bias of {into[dst]}"))
    return result


def _tensor(model: PlaygroundNet, w: Weight) -> tuple[torch.Tensor, tuple[int, ...]]:
    m = linears(model)[w.layer]
    return (m.bias, (w.dst,)) if w.src is None else (m.weight, (w.dst, w.src))


def value(model: PlaygroundNet, w: Weight) -> float:
    p, at = _tensor(model, w)
    return float(p.detach()[at])


def boxed(x: float) -> float:
    """What a number box limited to ±MAX_WEIGHT can show for x (a diverged weight is inf or nan)."""
    return min(max(x, -MAX_WEIGHT), MAX_WEIGHT) if math.isfinite(x) else 0.0


def set_weight(model: PlaygroundNet, w: Weight, new: float) -> None:
    """Set one weight or bias in place (training goes on from it); ValueError for a non-number or |new| > MAX_WEIGHT."""
    if not (isinstance(new, (int, float)) and math.isfinite(new) and abs(new) <= MAX_WEIGHT):
        raise ValueError(f"A weight is a number from -{MAX_WEIGHT:g} to {MAX_WEIGHT:g}.")
    p, at = _tensor(model, w)
    with torch.no_grad():
        p[at] = float(new)

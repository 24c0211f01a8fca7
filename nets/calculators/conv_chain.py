"""Chains of convolution and pooling layers: each layer's shape, parameters and multiply-adds in turn,
the chain builder's table read and checked, LeNet-5's feature extractor and the coursework's Inception
example."""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from nets.calculators.conv_arithmetic import (LAYER_KINDS, SAME, Conv, ConvError, Pool, Step, fmt_shape, human,
                                              layer_step, whole_number)

@dataclass(frozen=True)
class Chain:
    steps: tuple[Step, ...]
    error: str | None = None         # the first failing layer's message; steps stop before it

    @property
    def params(self) -> int:
        return sum(s.params for s in self.steps)

    @property
    def mult_adds(self) -> int:
        return sum(s.mult_adds for s in self.steps)

    @property
    def total_text(self) -> str:
        return (f"Total: {self.params:,} parameters, {self.mult_adds:,} multiply-adds "
                f"(about {human(self.mult_adds)}).")


def chain_table(c: Chain) -> pd.DataFrame:
    """One row per layer: its label, input and output shapes, parameters and multiply-adds."""
    rows = [{"layer": f"{i}: {s.label}", "input": fmt_shape(s.shape_in), "output": fmt_shape(s.shape_out),
             "params": s.params, "mult-adds": s.mult_adds} for i, s in enumerate(c.steps, 1)]
    return pd.DataFrame(rows, columns=["layer", "input", "output", "params", "mult-adds"])


def chain(input_shape, layers) -> Chain:
    """Each layer's shape, parameters and multiply-adds, stopping at the first that fails."""
    try:
        shape = tuple(whole_number(n, v) for n, v in zip(("H", "W", "C"), input_shape))
    except ConvError as e:
        return Chain((), f"Input: {e}")
    steps = []
    for i, layer in enumerate(layers, 1):
        try:
            steps.append(layer_step(shape, layer))
        except ConvError as e:
            return Chain(tuple(steps), f"Layer {i} ({layer.label}) on a {fmt_shape(shape)} input: {e}")
        shape = steps[-1].shape_out
    return Chain(tuple(steps))


def _empty(v) -> bool:
    return v is None or isinstance(v, float) and math.isnan(v) or isinstance(v, str) and not v.strip()


def _cell(row: dict, name: str, i: int, default=None):
    v = row.get(name)
    if _empty(v):
        if default is not None:
            return default
        raise ConvError(f"Row {i}: {name} is empty.")
    try:
        return whole_number(name, float(v) if isinstance(v, str) else v)
    except (ConvError, ValueError) as e:
        raise ConvError(f"Row {i}: {e if isinstance(e, ConvError) else f'{name} must be a number, not {v!r}.'}")


def layers_from_rows(rows: list[dict]) -> list[Conv | Pool]:
    """Table rows {type, K, S, P, C_out} (as a data editor gives them) → layers; P may be 'same'."""
    layers = []
    for i, row in enumerate(rows, 1):
        kind = row.get("type")
        if kind is None and all(_empty(v) for v in row.values()):
            continue  # a row the student has just added and not filled in yet
        if kind not in LAYER_KINDS:
            raise ConvError(f"Row {i}: type must be one of {', '.join(LAYER_KINDS)}, not {kind!r}.")
        K = _cell(row, "K", i)
        S = _cell(row, "S", i, default=1 if kind == "conv" else K)  # a pool's stride defaults to its size
        if kind != "conv":
            layers.append(Pool(K, S, _cell(row, "P", i, default=0), kind))
            continue
        P = SAME if str(row.get("P")).strip().lower() == SAME else _cell(row, "P", i, default=0)
        layers.append(Conv(K, _cell(row, "C_out", i), S, P))
    return layers


def chain_from_rows(input_shape, rows: list[dict]) -> Chain:
    """The chain builder's table, checked: a bad row is reported like a failing layer."""
    try:
        return chain(input_shape, layers_from_rows(rows))
    except ConvError as e:
        return Chain((), str(e))


LENET_INPUT = (32, 32, 1)
LENET_ROWS = [  # LeNet-5's feature extractor: the chain the lecture draws
    {"type": "conv", "K": 5, "S": 1, "P": "0", "C_out": 6},
    {"type": "max pool", "K": 2, "S": 2, "P": "0", "C_out": None},
    {"type": "conv", "K": 5, "S": 1, "P": "0", "C_out": 16},
    {"type": "max pool", "K": 2, "S": 2, "P": "0", "C_out": None},
]


# ------------------------------------------------------------------------- the coursework's example
@dataclass(frozen=True)
class Inception:
    input_shape: tuple[int, int, int]
    direct: Chain
    bottleneck: Chain
    titles: tuple[str, str]          # the direct way, the bottleneck way

    @property
    def output_shape(self) -> tuple[int, int, int]:
        return self.direct.steps[-1].shape_out  # the same either way: that is the point

    @property
    def saving(self) -> float:
        return self.direct.mult_adds / self.bottleneck.mult_adds

    @property
    def param_saving(self) -> float:
        return self.direct.params / self.bottleneck.params

    @property
    def summary(self) -> str:
        d, b = self.direct, self.bottleneck
        parts = " + ".join(f"{s.params:,}" for s in b.steps)
        return (f"With the 1×1 bottleneck: {parts} = {b.params:,} parameters instead of {d.params:,} "
                f"({self.param_saving:.1f}× fewer), and {b.mult_adds:,} multiply-adds (about "
                f"{human(b.mult_adds)}) instead of {d.mult_adds:,} (about {human(d.mult_adds)}): "
                f"{self.saving:.1f}× fewer.")


def inception_example() -> Inception:
    """28×28×192: a 5×5 conv to 32 directly, against a 1×1 to 16 first (the Inception bottleneck)."""
    shape = (28, 28, 192)
    return Inception(shape, chain(shape, [Conv(5, 32, P=SAME)]), chain(shape, [Conv(1, 16), Conv(5, 32, P=SAME)]),
                     ("5×5 convolution, 32 filters, same padding", "1×1 to 16 channels, then the 5×5 with 32"))

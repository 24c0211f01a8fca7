"""Threshold networks on the plane: the logic page's 0/1 step network as Playground weights on XOR's quadrants."""
from __future__ import annotations

import numpy as np

from nets.playground.model import MAX_NEURONS
from nets.playground.state import PlaygroundConfig

CENTRE = 3.0  # bit 0 -> x = -3, bit 1 -> x = +3: the truth table's rows land on XOR's quadrant centres
GAIN = 4.0  # tanh(4z) is within 4% of ±1 where |z| ≥ 0.5 (every truth-table row): near enough to a step
EXPLAIN = ("The logic network reads bits and the Playground reads x1, x2 in [−6, 6], so bit 0 becomes x = −3 "
           "and bit 1 becomes x = +3 (a bit is 1 when x > 0, and the truth table's four rows land on the "
           "quadrant centres (±3, ±3)), each step becomes a steep tanh (weights × 4), and the output y = 1 becomes "
           "orange (−1), the colour of XOR's mixed-sign quadrants.")


def playground_weights(W, b, c: float) -> tuple[PlaygroundConfig, tuple[float, ...]]:
    """A two-input threshold network (hidden W (n, 2), b (n,); output y = step(Σh + c)) as the
    Playground's XOR setting with one tanh layer of n neurons and its weights in link order.
    Bits x ↦ (x/CENTRE + 1)/2, so z = W·bit + b = (W / 2·CENTRE)·x + (b + ΣW/2); step(z) ≈ (tanh(GAIN·z) + 1)/2;
    and the output tanh(−GAIN·(Σh + c)) is −1 where y = 1. ValueError when it has no place in the Playground."""
    W, b = np.asarray(W, float), np.asarray(b, float)
    if W.ndim != 2 or W.shape[1] != 2:
        raise ValueError("The Playground has two inputs, x1 and x2: the expression needs exactly two variables.")
    n = W.shape[0]
    if not 1 <= n <= MAX_NEURONS:
        raise ValueError(f"The Playground's layers hold 1 to {MAX_NEURONS} neurons; this network has {n} hidden units.")
    W1 = GAIN * W / (2 * CENTRE)
    b1 = GAIN * (b + W.sum(1) / 2)
    W2 = np.full(n, -GAIN / 2)  # Σ step = Σ (t + 1)/2 = Σt/2 + n/2
    b2 = -GAIN * (n / 2 + c)
    cfg = PlaygroundConfig().changed(dataset="xor", hidden=(n,), features=("x1", "x2"), activation="tanh",
                                     loss="squared")
    return cfg, tuple(float(v) for v in (*W1.ravel(), *b1, *W2, b2))

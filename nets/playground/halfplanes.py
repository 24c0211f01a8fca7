"""Half-planes: each first-layer neuron's line w1·x1 + w2·x2 + b = 0, clipped to the Playground's square."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from nets.playground.data import DOMAIN

PLANE = ("x1", "x2")  # the lines are lines in the plane only when the inputs are x1 and x2 themselves
EPS = 1e-9


@dataclass(frozen=True)
class Segment:
    unit: int  # the neuron in the first hidden layer, from 0
    start: tuple[float, float]  # (x1, x2) where the line enters the square ...
    end: tuple[float, float]  # ... and where it leaves
    normal: tuple[float, float]  # (w1, w2): z = w·x + b grows this way, so the neuron's side is there


def segment(w1: float, w2: float, b: float, half: float = DOMAIN) -> tuple[tuple[float, float], ...] | None:
    """The two ends of the line w1·x1 + w2·x2 + b = 0 inside [-half, half]², or None when it misses
    the square, only touches a corner, or is no line (w1 = w2 = 0)."""
    points = []
    if abs(w2) > EPS:  # crossings of the left and right edges
        points += [(x1, -(w1 * x1 + b) / w2) for x1 in (-half, half)]
    if abs(w1) > EPS:  # ... and of the bottom and top edges
        points += [(-(w2 * x2 + b) / w1, x2) for x2 in (-half, half)]
    inside = [(float(x), float(y)) for x, y in points if abs(x) <= half + EPS and abs(y) <= half + EPS]
    if len(inside) < 2:
        return None
    a, z = max(combinations(inside, 2), key=lambda p: np.hypot(p[0][0] - p[1][0], p[0][1] - p[1][1]))
    if np.hypot(a[0] - z[0], a[1] - z[1]) < 1e-6:  # through a corner only
        return None
    return a, z


def lines(W, b, features=PLANE, half: float = DOMAIN) -> list[Segment]:
    """The first hidden layer's (W (neurons, 2), b) as segments in the square, for the neurons whose
    line crosses it; [] unless the inputs are exactly x1, x2 (other features bend the lines)."""
    if tuple(features) != PLANE:
        return []
    W, b = np.asarray(W, float), np.asarray(b, float)
    found = []
    for k, ((w1, w2), bk) in enumerate(zip(W, b)):
        ends = segment(w1, w2, bk, half)
        if ends is not None:
            found.append(Segment(k, ends[0], ends[1], (float(w1), float(w2))))
    return found

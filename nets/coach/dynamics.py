"""What the layer statistics say, layer and step named: vanishing gradients, exploding updates, dead ReLUs, saturated units, update ratios far from 1e-3."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nets.engine.stats import Dynamics

VANISHING = 1e-3      # first layer's gradient norm over the last layer's
DEAD = 0.5            # share of a ReLU layer's units that never fired over the window
HOLD = 3              # a finding must hold in this many of the latest records


@dataclass
class Finding:
    kind: str         # vanishing, exploding, dead-relu, saturated, update-ratio
    layer: str        # the layer or activation site it names
    step: int         # the first step it held
    value: float      # the measured number (a ratio, a share)
    text: str         # one sentence, as a lecturer would say it


def findings(d: Dynamics | None) -> list[Finding]:
    """The alarms the latest records raise, worst first; [] when there are none or no records.
    (A first version: vanishing gradients and dead ReLUs; the doctor's rules grow here.)"""
    if d is None or len(d) < HOLD:
        return []
    out = []
    if len(d.layers) >= 2:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = d.grad_norm[:, 0] / d.grad_norm[:, -1]
        held = ratio[-HOLD:]
        if np.all(held < VANISHING):
            first = int(d.step[np.argmax(ratio < VANISHING)])
            value = float(np.median(held))
            out.append(Finding("vanishing", d.layers[0], first, value,
                               f"vanishing gradients: {d.layers[0]}'s gradient is 1/{1 / max(value, 1e-30):,.0f} "
                               f"of {d.layers[-1]}'s (step {first})"))
    for j, kind in enumerate(d.site_kinds):
        if kind != "relu":
            continue
        held = d.dead[-HOLD:, j]
        if np.all(held > DEAD):
            first = int(d.step[np.argmax(d.dead[:, j] > DEAD)])
            out.append(Finding("dead-relu", d.sites[j], first, float(held[-1]),
                               f"dead ReLUs: {held[-1]:.0%} of the units of {d.sites[j]} never fire (step {first})"))
    return out

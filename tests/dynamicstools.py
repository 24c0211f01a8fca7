"""Layer statistics made by hand for tests that need a history without training (charts, doctor, exports, Runs)."""
from __future__ import annotations

import numpy as np

from nets.engine.bins import BINS
from nets.engine.stats import Dynamics


def synthetic(records: int = 30, every: int = 5, layers=("fc1", "fc2", "fc3"), sites=None, site_kind="relu",
              grad_first_over_last: float = 1.0, dead: float = 0.0, saturated: float = 0.0,
              update_ratio: float = 1e-3, seed: int = 0) -> Dynamics:
    """A history of `records` records, one every `every` steps: weights of norm 1, gradients whose
    first-to-last layer ratio is `grad_first_over_last` (log-spaced between), real updates of
    `update_ratio` x the weight norm, and the given dead / saturated shares at every site."""
    rng = np.random.default_rng(seed)
    L = len(layers)
    sites = list(sites) if sites is not None else [f"{site_kind} after {name}" for name in layers[:-1]]
    S = len(sites)
    R = records
    step = np.arange(1, R + 1) * every
    weight = np.ones((R, L), np.float32)
    grad = np.tile(np.logspace(np.log10(grad_first_over_last), 0, L).astype(np.float32), (R, 1))
    counts = rng.integers(0, 50, size=(R, L, BINS)).astype(np.uint32)
    act_counts = rng.integers(0, 50, size=(R, S, BINS)).astype(np.uint32)
    relu = site_kind in ("relu", "leaky_relu")
    return Dynamics(every=every, window=min(every, 4), layers=list(layers), layer_kinds=["linear"] * L,
                    sites=sites, site_kinds=[site_kind] * S,
                    step=step, epoch=np.ones(R), batch=step, images_seen=step * 64, lr=np.full(R, 0.01),
                    out_confident=np.zeros(R), out_confident_wrong=np.zeros(R), out_max_p=np.full(R, 0.5),
                    weight_norm=weight, grad_norm=grad, update_norm=weight * update_ratio,
                    act_mean=np.full((R, S), 0.3), act_std=np.full((R, S), 0.2),
                    dead=np.full((R, S), dead if relu else np.nan),
                    saturated=np.full((R, S), np.nan if relu else saturated),
                    hist_weight=counts, hist_grad=counts[:, ::-1], hist_act=act_counts)

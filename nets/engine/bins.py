"""The fixed histogram bins of the training statistics: the same edges at every step and in every run."""
from __future__ import annotations

import numpy as np
import torch

BINS = 43  # every histogram has this many bins, whatever it counts
# |x| on a log scale (weights, gradients, ReLU outputs): exact zeros, below 1e-10, 40 bins of 0.3
# decades from 1e-10 to 1e2, then 1e2 and above (inf and NaN are counted there too)
LOG_LO, LOG_HI = -10.0, 2.0
LOG_STEP = (LOG_HI - LOG_LO) / (BINS - 3)
RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}  # bounded outputs: linear bins over their range


def scale_of(kind: str) -> str:
    """'log' for |x| bins, 'linear' for an activation with a bounded range."""
    return "linear" if kind in RANGES else "log"


def edges(kind: str = "log") -> np.ndarray:
    """BINS + 1 edges. Log bins: the edges of |x| with 0 and the underflow bin's 1e-10 first, inf last."""
    if kind in RANGES:
        lo, hi = RANGES[kind]
        return np.linspace(lo, hi, BINS + 1)
    inner = 10.0 ** np.linspace(LOG_LO, LOG_HI, BINS - 2)
    return np.concatenate([[0.0, 0.0], inner, [np.inf]])


def bucket(x: torch.Tensor, kind: str = "log") -> torch.Tensor:
    """The bin (0..BINS-1) of each value of `x`, on the device, no sync."""
    x = x.detach().float()
    if kind in RANGES:
        lo, hi = RANGES[kind]
        i = ((x - lo) * (BINS / (hi - lo))).floor().clamp_(0, BINS - 1)
        return torch.nan_to_num(i, nan=BINS - 1).long()
    a = x.abs()
    i = ((a.log10() - LOG_LO) / LOG_STEP).floor().add_(2).clamp_(1, BINS - 1)
    i = torch.where(a == 0, torch.zeros_like(i), i)
    return torch.nan_to_num(i, nan=BINS - 1, posinf=BINS - 1).long()


def counts(x: torch.Tensor, kind: str = "log") -> torch.Tensor:
    """The histogram of `x` on the fixed bins (BINS counts, on the device)."""
    return torch.bincount(bucket(x.reshape(-1), kind), minlength=BINS)


def counts_np(x: np.ndarray, kind: str = "log") -> np.ndarray:
    """The same histogram in NumPy, written independently of `bucket` (the tests' reference)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    out = np.zeros(BINS, dtype=np.int64)
    if kind in RANGES:
        lo, hi = RANGES[kind]
        e = edges(kind)
        for v in x:
            k = BINS - 1 if not np.isfinite(v) and not (v == -np.inf) else int(np.searchsorted(e, v, side="right")) - 1
            out[min(max(k, 0), BINS - 1)] += 1
        return out
    for v in np.abs(x):
        if v == 0:
            out[0] += 1
        elif not np.isfinite(v) or v >= 10.0 ** LOG_HI:
            out[BINS - 1] += 1
        elif v < 10.0 ** LOG_LO:
            out[1] += 1
        else:
            out[2 + min(int(np.floor((np.log10(v) - LOG_LO) / LOG_STEP)), BINS - 4)] += 1
    return out

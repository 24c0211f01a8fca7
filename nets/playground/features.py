"""Playground input features: x1, x2, x1², x2², x1x2, sin x1, sin x2 (TF Playground's INPUTS)."""
from __future__ import annotations

import numpy as np
import torch

FEATURES = {  # name: (label, formula); the order is TF Playground's
    "x1": ("X₁", lambda x1, x2: x1),
    "x2": ("X₂", lambda x1, x2: x2),
    "x1^2": ("X₁²", lambda x1, x2: x1 * x1),
    "x2^2": ("X₂²", lambda x1, x2: x2 * x2),
    "x1x2": ("X₁X₂", lambda x1, x2: x1 * x2),
    "sin x1": ("sin(X₁)", lambda x1, x2: torch.sin(x1)),
    "sin x2": ("sin(X₂)", lambda x1, x2: torch.sin(x2)),
}
DEFAULT = ("x1", "x2")


def check(names) -> tuple[str, ...]:
    """The chosen features in TF's order; ValueError when none or an unknown one."""
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ValueError(f"Unknown feature {unknown[0]!r}; choose from {', '.join(FEATURES)}.")
    if not names:
        raise ValueError("Switch on at least one input feature.")
    return tuple(n for n in FEATURES if n in names)


def columns(points, names, dtype=torch.float32) -> torch.Tensor:
    """Points (n, 2) -> the chosen feature columns (n, len(names)), float32 (or `dtype`)."""
    p = torch.as_tensor(np.asarray(points) if not torch.is_tensor(points) else points, dtype=dtype)
    x1, x2 = p[:, 0], p[:, 1]
    return torch.stack([FEATURES[n][1](x1, x2) for n in check(names)], 1)

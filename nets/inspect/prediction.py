"""One input's prediction: class scores (logits), softmax probabilities, the top k and its table rows."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from nets.formulas import softmax


class Prediction(NamedTuple):
    index: int
    label: str
    probability: float


@torch.no_grad()
def logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The K class scores for one normalised 1×C×H×W input, in eval mode (dropout off)."""
    was_training = model.training
    model.eval()
    try:
        return model(x).float()[0]
    finally:
        model.train(was_training)


def probabilities(z) -> np.ndarray:
    """P(class k) for each of one input's K logits (a tensor or array of K values), summing to 1."""
    return softmax(torch.as_tensor(z).detach().cpu().double().flatten().numpy())


def top_k(z, classes: list[str], k: int = 5) -> list[Prediction]:
    """The k most probable classes, most probable first (the earlier class first on a tie)."""
    p = probabilities(z)
    if len(p) != len(classes):
        raise ValueError(f"{len(p)} logits but {len(classes)} class names")
    order = np.argsort(-p, kind="stable")[:max(0, k)]
    return [Prediction(int(i), str(classes[i]), float(p[i])) for i in order]


def runner_up(preds: list[Prediction]) -> int:
    """The class to compare the prediction with: the second most probable (the only one if K = 1)."""
    return preds[1].index if len(preds) > 1 else preds[0].index


def top_k_rows(preds: list[Prediction]) -> list[dict]:
    """The top k as table rows: class name and probability, most probable first."""
    return [{"class": p.label, "probability": p.probability} for p in preds]

"""The two losses the coursework compares, with optional label smoothing.

`ce`: cross-entropy on the logits (log-softmax inside, numerically stable).
`mse`: squared error between the softmax output and the one-hot target, averaged over every
element as torch.nn.MSELoss does. Its gradient vanishes when the softmax saturates on a wrong
class, which is why it learns more slowly than cross-entropy.

`smoothing` ε (TrainConfig.label_smoothing, a trick of the CIFAR-10 speed runs) trains against
(1 − ε)·one-hot + ε/K instead of the one-hot target: the model is never pushed towards infinite logits.
For `ce` it is PyTorch's own `label_smoothing`; for `mse` the same soft target.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def soft_targets(y: torch.Tensor, k: int, smoothing: float = 0.0) -> torch.Tensor:
    """N×K targets: one-hot, each row mixed with the uniform distribution by `smoothing`."""
    return F.one_hot(y, num_classes=k).float() * (1 - smoothing) + smoothing / k


def compute_loss(name: str, logits: torch.Tensor, y: torch.Tensor, reduction: str = "mean",
                 smoothing: float = 0.0) -> torch.Tensor:
    if name == "ce":
        return F.cross_entropy(logits.float(), y, reduction=reduction, label_smoothing=smoothing)
    if name == "mse":
        a = torch.softmax(logits.float(), dim=1)
        per_sample = (a - soft_targets(y, logits.shape[1], smoothing)).pow(2).mean(dim=1)
        return per_sample.mean() if reduction == "mean" else per_sample.sum() if reduction == "sum" else per_sample
    raise ValueError(f"Unknown loss '{name}'; choose 'ce' (cross-entropy) or 'mse' (squared error).")

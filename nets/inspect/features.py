"""Penultimate-layer features: the input of a model's last Linear layer, for every image, batched.

`penultimate(model, batches)` runs the model in eval mode and keeps, per batch, what went into the
last Linear layer it called (a forward pre-hook on every Linear; the last one to fire wins), flattened
to N×D float32. `features_of(model, x, …)` does the same for uint8 images normalised as in training
and keeps the logits' top 5 as well: the `Features` the projector shows. Caching per weights file is
nets.runs.features_cache's.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import torch
from torch import nn

from nets.engine.data import stats_tensors, to_input

TOP_K = 5


class FeatureError(ValueError):
    """A model whose penultimate features cannot be taken (it has no Linear layer)."""


@dataclass
class Features:
    """What the projector needs of one model on one split; row i is image i of the split."""
    x: np.ndarray            # N×D float32, the penultimate features
    labels: np.ndarray       # N int64, the true classes
    predictions: np.ndarray  # N int64, the predicted classes (argmax of the logits)
    top5: np.ndarray         # N×k int64, the k most probable classes, most probable first (k = min(5, classes))
    top5_p: np.ndarray       # N×k float32, their probabilities
    classes: list[str] = field(default_factory=list)
    weights: str = ""        # the weights file they were computed from ("" when not from a run)

    def __len__(self) -> int:
        return len(self.x)

    @property
    def mistakes(self) -> np.ndarray:
        """A boolean mask: True where the prediction is wrong."""
        return self.predictions != self.labels

    @property
    def accuracy(self) -> float:
        return float((~self.mistakes).mean()) if len(self.x) else float("nan")


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not layers:
        raise FeatureError("This network has no Linear (fully connected) layer, so it has no "
                           "penultimate features to show: the projector needs a last Linear layer.")
    return layers


class _LastLinearInput:
    """Forward pre-hooks on every Linear layer; after a forward pass `.value` is the input of the last
    one that ran (N×D, flattened)."""

    def __init__(self, model: nn.Module):
        self.value: torch.Tensor | None = None
        self.handles = [m.register_forward_pre_hook(self._hook) for m in linear_layers(model)]

    def _hook(self, module, args):
        self.value = args[0]

    def take(self) -> torch.Tensor:
        if self.value is None:
            raise FeatureError("The network's forward pass called none of its Linear layers.")
        v, self.value = self.value, None
        return v.reshape(len(v), -1) if v.dim() != 2 else v

    def close(self) -> None:
        for h in self.handles:
            h.remove()


@torch.no_grad()
def penultimate_and_logits(model: nn.Module, batches: Iterable[torch.Tensor]) -> tuple[np.ndarray, torch.Tensor]:
    """(N×D float32 features, N×C float32 logits on the CPU) for float input batches already on the
    model's device. The model runs in eval mode and is put back in the mode it was in."""
    was_training = model.training
    model.eval()
    hook = _LastLinearInput(model)
    feats, logits = [], []
    try:
        for xb in batches:
            out = model(xb)
            feats.append(hook.take().float().cpu())
            logits.append(out.float().cpu())
    finally:
        hook.close()
        model.train(was_training)
    if not feats:
        return np.zeros((0, 0), np.float32), torch.zeros(0, 0)
    return torch.cat(feats).numpy().astype(np.float32, copy=False), torch.cat(logits)


def penultimate(model: nn.Module, x_batches: Iterable[torch.Tensor]) -> np.ndarray:
    """N×D float32: the input of the model's last Linear layer for each row of the batches (float
    input tensors, normalised as the model expects, on its device), in eval mode."""
    return penultimate_and_logits(model, x_batches)[0]


def image_batches(x: torch.Tensor, mean, std, scale: float = 255.0, batch_size: int = 500,
                  device: torch.device | str | None = None) -> Iterable[torch.Tensor]:
    """uint8 images N×C×H×W → float input batches on the device, normalised as in training."""
    device = torch.device(device) if device is not None else torch.device("cpu")
    mean_t, std_t = stats_tensors(mean, std, device)
    for i in range(0, len(x), batch_size):
        yield to_input(x[i:i + batch_size].to(device), mean_t, std_t, scale)


def features_of(model: nn.Module, x: torch.Tensor, y: torch.Tensor, mean, std, classes: list[str], *,
                scale: float = 255.0, batch_size: int = 500, device=None, weights: str = "") -> Features:
    """The `Features` of a model on uint8 images x with labels y (the run's normalisation)."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    feats, logits = penultimate_and_logits(model, image_batches(x, mean, std, scale, batch_size, device))
    k = min(TOP_K, logits.shape[1]) if logits.dim() == 2 and logits.shape[1] else 0
    probs = torch.softmax(logits, dim=1) if k else logits
    top_p, top_i = probs.topk(k, dim=1) if k else (torch.zeros(len(feats), 0), torch.zeros(len(feats), 0))
    return Features(x=feats, labels=y.cpu().numpy().astype(np.int64), predictions=top_i[:, 0].numpy().astype(np.int64)
                    if k else np.zeros(len(feats), np.int64), top5=top_i.numpy().astype(np.int64),
                    top5_p=top_p.numpy().astype(np.float32), classes=[str(c) for c in classes], weights=weights)

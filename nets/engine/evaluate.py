"""Evaluation: numbers, not prints.

`evaluate` runs a model over a split on the device and returns an `Evaluation` holding the loss,
accuracy, every prediction and probability, and the confusion matrix; its methods answer the
coursework's questions (best and worst class, most confused pairs, sample predictions, mistakes).
With test-time augmentation (`tta`, TrainConfig.tta: a speed-run trick) a prediction is the weighted
mean of the logits of several views of each image (tta_views).
"""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nets.engine.data import stats_tensors, to_input
from nets.engine.device import amp_dtype
from nets.engine.losses import compute_loss


@dataclass
class Evaluation:
    loss: float
    accuracy: float            # fraction in [0, 1]
    labels: torch.Tensor       # N, int64
    predictions: torch.Tensor  # N, int64
    probabilities: torch.Tensor  # N×K, float32, rows sum to 1
    classes: list[str]

    @property
    def confusion(self) -> torch.Tensor:
        """K×K counts: rows are true classes, columns predicted classes."""
        return confusion_matrix(self.labels, self.predictions, len(self.classes))

    @property
    def mistakes(self) -> torch.Tensor:
        """The indices of the wrongly predicted images, in split order."""
        return torch.nonzero(self.predictions != self.labels).flatten()

    def per_class_accuracy(self) -> list[float]:
        cm = self.confusion
        totals = cm.sum(1).clamp_min(1)
        return (cm.diag().float() / totals).tolist()

    def best_class(self) -> tuple[str, float]:
        acc = self.per_class_accuracy()
        k = max(range(len(acc)), key=acc.__getitem__)
        return self.classes[k], acc[k]

    def worst_class(self) -> tuple[str, float]:
        acc = self.per_class_accuracy()
        k = min(range(len(acc)), key=acc.__getitem__)
        return self.classes[k], acc[k]

    def most_confused(self, n: int = 5) -> list[tuple[str, str, int]]:
        """(true class, predicted class, count) for the n largest off-diagonal cells."""
        cm = self.confusion.clone()
        cm.fill_diagonal_(0)
        counts, flat = cm.flatten().sort(descending=True)
        k = len(self.classes)
        return [(self.classes[i // k], self.classes[i % k], int(c))
                for c, i in zip(counts[:n].tolist(), flat[:n].tolist()) if c > 0]

    def first_predictions(self, n: int = 10) -> list[dict]:
        return [self._row(i) for i in range(min(n, len(self.labels)))]

    def first_mistakes(self, n: int = 10) -> list[dict]:
        return [self._row(int(i)) for i in self.mistakes[:n]]

    def indices_of(self, true_class: int, predicted_class: int) -> torch.Tensor:
        """Which images fall in one confusion-matrix cell."""
        return torch.nonzero((self.labels == true_class) & (self.predictions == predicted_class)).flatten()

    def _row(self, i: int) -> dict:
        p = int(self.predictions[i])
        return {"index": i, "true": self.classes[int(self.labels[i])], "predicted": self.classes[p],
                "confidence": float(self.probabilities[i, p]), "correct": p == int(self.labels[i])}


def confusion_matrix(labels: torch.Tensor, predictions: torch.Tensor, k: int) -> torch.Tensor:
    return torch.bincount(labels * k + predictions, minlength=k * k).view(k, k)


TTA_LEVELS = {0: "none", 1: "mirror", 2: "mirror and 1-pixel translations"}


def tta_views(x: torch.Tensor, level: int) -> list[tuple[float, torch.Tensor]]:
    """(weight, view) pairs of a batch of model inputs, the weights summing to 1 (airbench94's levels):
    0 the images; 1 the images and their mirror images, half each; 2 those two at a quarter each, and
    mirrored and unmirrored copies shifted one pixel up-left and one pixel down-right (the border
    mirrored in) at an eighth each."""
    if level <= 0:
        return [(1.0, x)]
    if level == 1:
        return [(0.5, x), (0.5, x.flip(-1))]
    h, w = x.shape[-2:]
    padded = F.pad(x, (1, 1, 1, 1), mode="reflect")
    shifted = [padded[..., :h, :w], padded[..., 2:, 2:]]
    return ([(0.25, x), (0.25, x.flip(-1))]
            + [(0.125, v) for s in shifted for v in (s, s.flip(-1))])


@torch.no_grad()
def predict_logits(model: nn.Module, x: torch.Tensor, mean, std, batch_size: int = 1000,
                   device: torch.device | str | None = None, channels_last: bool = False,
                   amp: bool = False, scale: float = 255.0, tta: int = 0) -> torch.Tensor:
    """Logits (float32, on the device) for uint8 images x, N×C×H×W, batched; with `tta` the weighted
    mean of the logits of tta_views."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    mean_t, std_t = stats_tensors(mean, std, device)
    was_training = model.training
    model.eval()
    autocast = (torch.autocast("cuda", dtype=amp_dtype()) if amp and device.type == "cuda"
                else nullcontext())
    out = []
    try:
        for i in range(0, len(x), batch_size):
            xb = to_input(x[i:i + batch_size].to(device, non_blocking=True), mean_t, std_t, scale)
            logits = None
            for weight, view in tta_views(xb, tta):
                if channels_last:
                    view = view.contiguous(memory_format=torch.channels_last)
                with autocast:
                    part = model(view).float() * weight
                logits = part if logits is None else logits.add_(part)
            out.append(logits)
    finally:
        model.train(was_training)
    return torch.cat(out) if out else torch.empty(0, 0, device=device)


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, mean, std, classes: list[str],
             loss: str = "ce", batch_size: int = 1000, device=None, channels_last: bool = False,
             amp: bool = False, scale: float = 255.0, tta: int = 0) -> Evaluation:
    if len(x) == 0:
        raise ValueError("Nothing to evaluate: the split is empty.")
    logits = predict_logits(model, x, mean, std, batch_size, device, channels_last, amp, scale, tta)
    y_dev = y.to(logits.device)
    loss_value = compute_loss(loss, logits, y_dev).item()
    probs = torch.softmax(logits, dim=1)
    preds = probs.argmax(1)
    acc = (preds == y_dev).float().mean().item()
    return Evaluation(loss_value, acc, y.cpu(), preds.cpu(), probs.cpu(), list(classes))

"""Per-batch losses and right answers kept on the device and summed at a logging interval: the training loop's one host sync."""
from __future__ import annotations

import math

import torch


class Tally:
    """Per-batch losses and logits, kept on the device and summed only at a logging interval, so
    training never waits for the host in between (one sync per flush)."""

    def __init__(self):
        self.pending: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self.loss_sum, self.correct, self.batches = 0.0, 0, 0
        self.last_loss = self.bad_loss = float("nan")

    def add(self, loss, logits, y) -> None:
        self.pending.append((loss.detach(), logits.detach(), y))

    def flush(self) -> int | None:
        """Fold the pending batches into the totals; the epoch's batch index (0-based) of the first
        non-finite loss, or None."""
        losses = torch.stack([p[0].float() for p in self.pending])
        right = (torch.cat([p[1] for p in self.pending]).argmax(1) == torch.cat([p[2] for p in self.pending])).sum()
        *values, right = torch.cat([losses, right.view(1).float()]).tolist()
        sizes = [len(p[2]) for p in self.pending]
        self.pending.clear()
        for i, v in enumerate(values):
            if not math.isfinite(v):
                self.bad_loss = v
                return self.batches + i
        total = sum(v * s for v, s in zip(values, sizes))
        self.loss_sum += total
        self.correct += int(right)
        self.batches += len(values)
        self.last_loss = total / sum(sizes)
        return None

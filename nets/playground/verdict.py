"""Playground verdicts: what a loss history did (diverged, stuck, slow, good), read as a lecturer would."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nets.playground.state import PlaygroundState

OUTCOMES = {  # kind: what a student predicts, in the words of the radio
    "good": "It learns the pattern: the loss falls close to zero",
    "slow": "It learns, but slowly: the loss falls only part of the way",
    "stuck": "It is stuck: the loss stays near where it started",
    "diverged": "It blows up: the loss rises, jumps about or becomes NaN",
}
GOOD = 0.25  # final loss at most a quarter of a constant guess's: the network has learned the pattern
STUCK = 0.85  # final loss within 15% of a constant guess's: it has learned (next to) nothing
RISEN = 1.3  # final loss 30% above where it started (or the guess's): the steps overshoot
LAST = 3  # the final loss is the mean of the last records, so one noisy record does not decide
JUMP = 0.1  # a rise between two records by more than this share of the guess's loss is a jump, not noise
JUMPY = 0.25  # jumps in at least this share of the records: the loss oscillates (the steps overshoot)


@dataclass(frozen=True)
class Verdict:
    kind: str  # a key of OUTCOMES
    message: str


def guess_loss(state: PlaygroundState) -> float:
    """The training loss of the best constant output, the level a network that learned nothing sits at:
    squared error ½·var (per output unit), cross-entropy the labels' entropy."""
    y, k = state.train_y.numpy().astype(float), state.data.classes
    squared = state.cfg.net.loss == "squared"
    if k > 2:
        p = np.bincount(y.astype(int), minlength=k) / len(y)
        return float(0.5 * np.sum(p * (1 - p))) if squared else float(-np.sum(p[p > 0] * np.log(p[p > 0])))
    if k == 0 or squared:
        return float(0.5 * y.var())
    p = float(np.mean((y + 1) / 2))
    return float(-sum(q * math.log(q) for q in (p, 1 - p) if q > 0))


def verdict(history, guess: float) -> Verdict:
    """Read the training losses in `history` ((epoch, train, test) records, the first before any
    training) against `guess` (guess_loss): NaN, a rise, or (short of good) a loss that climbed well above
    its start or jumped up often is diverged; near the guess is stuck, below a quarter of it good, in
    between slow."""
    losses = [h[1] for h in history]
    if not losses:
        raise ValueError("No losses recorded yet.")
    start, epochs = losses[0], history[-1][0]
    if not all(math.isfinite(v) for v in losses):
        at = next(h[0] for h in history if not math.isfinite(h[1]))
        return Verdict("diverged", f"The loss became NaN (not a number) by epoch {at:.0f}: the weights grew "
                                   "until the arithmetic overflowed.")
    final = float(np.mean(losses[-LAST:]))
    if final > RISEN * max(start, guess):
        return Verdict("diverged", f"The loss rose from {start:.3f} to {final:.3f} (peak {max(losses):.3f}) in "
                                   f"{epochs:.0f} epochs: each step overshoots the minimum it aims at.")
    # A run that overshoots is chaotic: where it ends depends on the last bits of the arithmetic (one CPU's
    # run falls back near the start, another's stays high), so what it did on the way decides, not the end.
    peak, jumps = max(losses[1:], default=start), sum(b - a > JUMP * guess for a, b in zip(losses, losses[1:]))
    if final > GOOD * guess and (peak > RISEN * max(start, guess) or jumps >= JUMPY * (len(losses) - 1) > 0):
        return Verdict("diverged", f"The loss jumped about: from {start:.3f} it climbed as high as {peak:.3f} and "
                                   f"ended at {final:.3f} after {epochs:.0f} epochs. Each step overshoots the minimum "
                                   "it aims at, so the loss rises again instead of settling.")
    if final <= GOOD * guess:
        return Verdict("good", f"The loss fell from {start:.3f} to {final:.3f} in {epochs:.0f} epochs, far below "
                               f"{guess:.3f}, the loss of always guessing the same answer.")
    if final >= STUCK * guess:
        return Verdict("stuck", f"After {epochs:.0f} epochs the loss is {final:.3f} (it started at {start:.3f}): "
                                f"still near {guess:.3f}, the loss of always guessing the same answer.")
    return Verdict("slow", f"The loss fell from {start:.3f} to {final:.3f} in {epochs:.0f} epochs: better than "
                           f"always guessing the same answer ({guess:.3f}), but far from zero yet.")

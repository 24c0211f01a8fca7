"""Learning a truth table instead of setting the weights: a small sigmoid network trained with
full-batch gradient descent, shown next to the hand-built threshold network of nets.calculators.logic_network."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from nets.calculators.boolean_expression import Expression
from nets.calculators.logic_network import ThresholdNetwork
from nets.formulas import sigmoid

MAX_HIDDEN = 12  # the page's slider goes this far


@dataclass(frozen=True)
class TrainResult:
    losses: np.ndarray            # mean cross-entropy at the start of each epoch
    outputs: np.ndarray           # final sigmoid outputs, one per row
    snapshots: dict[int, np.ndarray]
    W1: np.ndarray
    b1: np.ndarray
    W2: np.ndarray
    b2: float


def default_hidden(n_terms: int) -> int:
    """Hidden units to start from: twice the hand-built network's, between 4 and MAX_HIDDEN."""
    return min(MAX_HIDDEN, max(4, 2 * n_terms))


def train_sigmoid(expr: Expression, hidden: int = 6, epochs: int = 2000, lr: float = 2.0,
                  seed: int = 0, callback=None) -> TrainResult:
    """Full-batch gradient descent on the truth table: sigmoid hidden layer, sigmoid output,
    cross-entropy loss. `callback(epoch, loss)` runs after every epoch. Snapshots of the outputs
    at the start, at each quarter and at the end show the learning."""
    X = np.array(expr.rows(), float)
    y = np.array([expr(r) for r in expr.rows()], float)
    rng = np.random.default_rng(seed)
    W1, b1 = rng.normal(0, 1.5, (hidden, X.shape[1])), np.zeros(hidden)
    W2, b2 = rng.normal(0, 1.5, hidden), 0.0
    losses, snaps = np.empty(epochs), {}
    for epoch in range(epochs):
        a1 = sigmoid(X @ W1.T + b1)
        p = sigmoid(a1 @ W2 + b2)
        losses[epoch] = -np.mean(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))
        if epoch % max(1, epochs // 4) == 0:
            snaps[epoch] = p
        # With a sigmoid output, d(cross-entropy)/dz is just p − y.
        dz2 = (p - y) / len(y)
        dz1 = np.outer(dz2, W2) * a1 * (1 - a1)
        W2, b2 = W2 - lr * a1.T @ dz2, b2 - lr * dz2.sum()
        W1, b1 = W1 - lr * dz1.T @ X, b1 - lr * dz1.sum(axis=0)
        if callback:
            callback(epoch, losses[epoch])
    out = sigmoid(sigmoid(X @ W1.T + b1) @ W2 + b2)
    snaps[epochs] = out
    return TrainResult(losses, out, snaps, W1, b1, W2, b2)


def learning_table(expr: Expression, net: ThresholdNetwork, result: TrainResult) -> pd.DataFrame:
    """Each row: the inputs, the expression, the hand-set network, the learned outputs over time."""
    rows = np.array(expr.rows())
    table = pd.DataFrame(rows, columns=list(expr.variables))
    table["expression y"], table["hand-set y"] = [expr(r) for r in rows], net.output(rows)
    for epoch, p in result.snapshots.items():
        table[f"p, epoch {epoch}"] = np.round(p, 3)
    table["learned y"] = (result.outputs > 0.5).astype(int)
    return table


def rows_right(table: pd.DataFrame) -> int:
    return int((table["learned y"] == table["expression y"]).sum())


def learned_units(expr: Expression, result: TrainResult) -> pd.DataFrame:
    """The learned weights laid out like `unit_table`, to set beside the hand-set ones."""
    table = pd.DataFrame(result.W1, columns=[f"w·{v}" for v in expr.variables],
                         index=[f"h{k + 1}" for k in range(len(result.b1))])
    table["bias"], table["weight to y"] = result.b1, result.W2
    return table.round(2)


def loss_curve(result: TrainResult, points: int = 200) -> pd.DataFrame:
    """Every k-th epoch: a few hundred points look like the full curve and draw much faster."""
    step = max(1, len(result.losses) // points)
    return pd.DataFrame({"epoch": np.arange(0, len(result.losses), step), "loss": result.losses[::step]})

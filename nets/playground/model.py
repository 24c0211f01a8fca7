"""Playground network: an MLP from a layer list, its output head, loss and L1/L2 penalty."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

MAX_LAYERS = 6  # TF Playground's limits
MAX_NEURONS = 8
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "linear": nn.Identity}
LOSSES = ("squared", "cross-entropy")
MAX_WEIGHT = 100.0  # |w| a link or the weight box may set; beyond it is a typo, not a lesson (tanh saturates long before)
REGULARIZATION = ("none", "L1", "L2")


@dataclass(frozen=True)
class NetConfig:
    hidden: tuple[int, ...] = (4, 2)  # TF Playground's default network
    activation: str = "tanh"
    loss: str = "squared"  # TF's: a tanh output and ½(a − y)²
    dropout: float = 0.0
    batch_norm: bool = False
    regularization: str = "none"
    reg_rate: float = 0.0


def check(cfg: NetConfig, classes: int) -> None:
    if len(cfg.hidden) > MAX_LAYERS or any(not 1 <= n <= MAX_NEURONS for n in cfg.hidden):
        raise ValueError(f"Up to {MAX_LAYERS} hidden layers of 1 to {MAX_NEURONS} neurons.")
    if cfg.activation not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {cfg.activation!r}; choose from {', '.join(ACTIVATIONS)}.")
    if cfg.loss not in LOSSES:
        raise ValueError(f"Unknown loss {cfg.loss!r}; choose squared or cross-entropy.")
    if classes == 0 and cfg.loss != "squared":
        raise ValueError("Regression uses the squared error: cross-entropy needs classes.")
    if not 0 <= cfg.dropout < 1:
        raise ValueError("Dropout is a probability from 0 up to (not including) 1.")
    if cfg.regularization not in REGULARIZATION or cfg.reg_rate < 0:
        raise ValueError("Regularisation is none, L1 or L2, with a rate ≥ 0.")


class PlaygroundNet(nn.Module):
    """hidden[i] = Linear -> (BatchNorm) -> activation -> (Dropout); out = Linear to 1 or k units."""

    def __init__(self, n_inputs: int, cfg: NetConfig, classes: int, generator: torch.Generator | None = None):
        super().__init__()
        check(cfg, classes)
        self.cfg, self.classes = cfg, classes
        self.hidden = nn.ModuleList()
        width = n_inputs
        for n in cfg.hidden:
            block = [nn.Linear(width, n)]
            if cfg.batch_norm:
                block.append(nn.BatchNorm1d(n))
            block.append(ACTIVATIONS[cfg.activation]())
            if cfg.dropout:
                block.append(nn.Dropout(cfg.dropout))
            self.hidden.append(nn.Sequential(*block))
            width = n
        self.out = nn.Linear(width, classes if classes > 2 else 1)
        for m in self.modules():  # TF Playground's start: W ~ U(-0.5, 0.5), b = 0.1
            if isinstance(m, nn.Linear):
                nn.init.uniform_(m.weight, -0.5, 0.5, generator=generator)
                nn.init.constant_(m.bias, 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The output layer's z (logits for classes, the value before tanh/sigmoid for one unit)."""
        for block in self.hidden:
            x = block(x)
        return self.out(x)

    def activations(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every hidden layer's a (after batch norm and activation, before dropout)."""
        result = []
        for block in self.hidden:
            for m in block:
                x = m(x)
                if isinstance(m, tuple(ACTIVATIONS.values())):
                    result.append(x)
        return result


def output(model: PlaygroundNet, z: torch.Tensor) -> torch.Tensor:
    """What the heatmap shows: a value in [-1, 1] for two classes (tanh, or 2σ(z) − 1 with
    cross-entropy), z itself for regression, softmax probabilities (n, k) for k classes."""
    if model.classes > 2:
        return torch.softmax(z, 1)
    z = z[:, 0]
    if model.classes == 0:
        return z
    return torch.tanh(z) if model.cfg.loss == "squared" else 2 * torch.sigmoid(z) - 1


def loss(model: PlaygroundNet, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The data loss, a mean over points. Squared error is TF's ½(a − y)² (y = ±1 or the regression
    value; k classes: ½Σ(softmax − one-hot)²); cross-entropy is BCE on (y + 1)/2 or softmax CE."""
    if model.classes > 2:
        target = y.long()
        if model.cfg.loss == "cross-entropy":
            return nn.functional.cross_entropy(z, target)
        onehot = nn.functional.one_hot(target, model.classes).float()
        return 0.5 * ((torch.softmax(z, 1) - onehot) ** 2).sum(1).mean()
    if model.classes == 2 and model.cfg.loss == "cross-entropy":
        return nn.functional.binary_cross_entropy_with_logits(z[:, 0], (y + 1) / 2)
    return 0.5 * ((output(model, z) - y) ** 2).mean()


def weight_matrices(model: PlaygroundNet) -> list[torch.Tensor]:
    """The W of every Linear layer in order (no biases, no batch-norm scales)."""
    return [m.weight for m in model.modules() if isinstance(m, nn.Linear)]


def penalty(model: PlaygroundNet) -> torch.Tensor:
    """TF Playground's regulariser on weights only: L1 = rate·Σ|W|, L2 = rate·½ΣW²."""
    kind, rate = model.cfg.regularization, model.cfg.reg_rate
    if kind == "none" or rate == 0:
        return torch.zeros(())
    if kind == "L1":
        return rate * sum(W.abs().sum() for W in weight_matrices(model))
    return rate * 0.5 * sum((W ** 2).sum() for W in weight_matrices(model))


def parameter_count(n_inputs: int, hidden: tuple[int, ...], outputs: int, batch_norm: bool = False) -> int:
    """Weights and biases by formula (batch norm adds a scale and a shift per neuron)."""
    widths = [n_inputs, *hidden, outputs]
    count = sum(a * b + b for a, b in zip(widths, widths[1:]))
    return count + (2 * sum(hidden) if batch_norm else 0)


def linears(model: PlaygroundNet) -> list[nn.Linear]:
    """The Linear layers in order: each hidden layer's, then the output's."""
    return [block[0] for block in model.hidden] + [model.out]


def flat_weights(model: PlaygroundNet) -> tuple[float, ...]:
    """Every layer's W (row by row, W[out, in]) then its b, layer after layer: the order of a link's weights."""
    values = []
    for m in linears(model):
        values += m.weight.detach().flatten().tolist() + m.bias.detach().tolist()
    return tuple(values)


def load_weights(model: PlaygroundNet, values) -> None:
    """Set every W and b from `values` in flat_weights' order; ValueError when the count is wrong."""
    layers = linears(model)
    need = sum(m.weight.numel() + m.bias.numel() for m in layers)
    if len(values) != need:
        raise ValueError(f"This network has {need} weights and biases, not {len(values)}.")
    at = 0
    with torch.no_grad():
        for m in layers:
            for p in (m.weight, m.bias):
                p.copy_(torch.tensor(values[at:at + p.numel()], dtype=p.dtype).reshape(p.shape))
                at += p.numel()

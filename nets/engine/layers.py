"""The layers the registry and the builder share: activations, GatedConv, the residual block."""
# nets.engine.models (the registry) and nets.engine.netbuild (the builder) both need these, and the
# registry imports the builder: keeping them here spares a module cycle.
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "linear": nn.Identity,
    "gelu": nn.GELU,
}


class ModelError(ValueError):
    """A model cannot be built with these options; the message says why."""


def activation(name: str) -> nn.Module:
    key = name.replace("-", "_").replace(" ", "_").lower()
    if key not in ACTIVATIONS:
        raise ModelError(f"Unknown activation '{name}'. Choose from: {', '.join(ACTIVATIONS)}.")
    return ACTIVATIONS[key]()


class GatedConv(nn.Module):
    """Two parallel 5×5 convolution branches mixed per image by softmax weights computed from the
    input's spatial average: a tiny mixture of experts, or attention over branches."""

    def __init__(self, c_in: int, c_out: int, activation_name: str = "relu"):
        super().__init__()
        self.branch_a = nn.Conv2d(c_in, c_out, 5)
        self.branch_b = nn.Conv2d(c_in, c_out, 5)
        self.gate = nn.Linear(c_in, 2)
        self.act = activation(activation_name)

    def forward(self, x):
        g = torch.softmax(self.gate(x.mean((2, 3))), dim=1)  # N×2
        mixed = g[:, 0, None, None, None] * self.branch_a(x) + g[:, 1, None, None, None] * self.branch_b(x)
        return self.act(mixed)


class Residual(nn.Module):
    """A ResNet basic block, torchvision's layout and parameter count: 3×3 conv (stride s) → BN → act →
    3×3 conv → BN, plus the input (through a 1×1 conv and BN when the shape changes), then act."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1, activation_name: str = "relu"):
        super().__init__()
        self.conv_a = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn_a = nn.BatchNorm2d(c_out)
        self.act_a = activation(activation_name)
        self.conv_b = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn_b = nn.BatchNorm2d(c_out)
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
        else:
            self.shortcut = None
        self.act_b = activation(activation_name)

    def forward(self, x):
        out = self.bn_b(self.conv_b(self.act_a(self.bn_a(self.conv_a(x)))))
        return self.act_b(out + (x if self.shortcut is None else self.shortcut(x)))

"""The `init` option: draw every Linear and Conv layer's weights again (Kaiming or Xavier), biases zero."""
from __future__ import annotations

import torch
from torch import nn

WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def apply_init(model: nn.Module, init: str, activation: str = "") -> nn.Module:
    """Kaiming (He) normal for ReLU networks, Xavier (Glorot) normal for sigmoid/tanh ones; "" keeps
    PyTorch's default. Only trainable layers are drawn again (a frozen pretrained block keeps its
    weights); call it right after the model is built, under the run's seed."""
    if not init:
        return model
    if init not in ("kaiming", "xavier"):
        raise ValueError(f"unknown initialisation {init!r}: use kaiming or xavier")
    gain = nn.init.calculate_gain(activation) if activation in ("sigmoid", "tanh") else 1.0
    with torch.no_grad():
        for m in model.modules():
            if not isinstance(m, WEIGHTED) or not m.weight.requires_grad:
                continue
            if init == "kaiming":
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            else:
                nn.init.xavier_normal_(m.weight, gain=gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model

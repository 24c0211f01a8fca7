"""The `init` option: every Linear and Conv layer's weights drawn again (Kaiming or Xavier, biases zero), or the convolutions made identity maps (Dirac)."""
from __future__ import annotations

import torch
from torch import nn

WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
INIT_NAMES = ("kaiming", "xavier", "dirac")


def dirac_(conv: nn.Conv2d) -> None:
    """The first min(in, out) filters of a convolution pass their own input channel through unchanged
    (a 1 at the kernel's centre: with in = out and an odd kernel the layer is the identity); the other
    filters keep their draw; the bias is zero. The speed runs' implicit residual (airbench)."""
    w = conv.weight
    if conv.groups == 1:  # a grouped convolution keeps its draw
        nn.init.dirac_(w[:min(w.shape[0], w.shape[1])])  # a view: the layer's own weights change
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)


def apply_init(model: nn.Module, init: str, activation: str = "") -> nn.Module:
    """Kaiming (He) normal for ReLU networks, Xavier (Glorot) normal for sigmoid/tanh ones; "" keeps
    PyTorch's default. "dirac" keeps PyTorch's draw but makes each 2-D convolution with an odd kernel
    pass its input channels through (dirac_); Linear layers stay as drawn. Only trainable layers are
    changed (a frozen pretrained block, a frozen whitening layer keep their weights); call it right
    after the model is built, under the run's seed."""
    if not init:
        return model
    if init not in INIT_NAMES:
        raise ValueError(f"unknown initialisation {init!r}: use kaiming, xavier or dirac")
    gain = nn.init.calculate_gain(activation) if activation in ("sigmoid", "tanh") else 1.0
    with torch.no_grad():
        for m in model.modules():
            if not isinstance(m, WEIGHTED) or not m.weight.requires_grad:
                continue
            if init == "dirac":
                if isinstance(m, nn.Conv2d) and all(k % 2 == 1 for k in m.kernel_size):
                    dirac_(m)
                continue
            if init == "kaiming":
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            else:
                nn.init.xavier_normal_(m.weight, gain=gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model

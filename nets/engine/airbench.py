"""The airbench94 network of the CIFAR-10 speed runs: a frozen 2×2 patch-whitening convolution, three conv blocks (BatchNorm, GELU, max-pool), a scaled head."""
# After Keller Jordan's airbench94 (github.com/KellerJordan/cifar10-airbench, "94% on CIFAR-10 in 3.29
# seconds on a single GPU", arXiv:2404.00498), itself after hlb-CIFAR10 and Page (2018); written here
# from the description, as a plain nn.Sequential of PyTorch's own layers, so that the registry's tools
# (the code export, the anatomy table, the layer statistics) read it as any other network:
#
#   whiten   Conv 2×2, C → 2·C·4 (24 for RGB), frozen: its filters are the eigenvectors of the covariance
#            of 2×2 patches of the training images, each divided by the square root of its eigenvalue
#            (and the same filters negated, so that the GELU after it loses nothing): the first layer's
#            output has identity covariance. `prepare` computes it from the training images, once,
#            before training (nets.engine.start.initial_model calls it).
#   blocks   3 × [Conv 3×3 → MaxPool 2 → BatchNorm → GELU → Conv 3×3 → BatchNorm → GELU], 64/256/256
#            channels (`channels`); the BatchNorms have no trainable scale (frozen at 1), a fast running
#            average (momentum 0.4) and, with `bn_fp32`, compute in float32 under mixed precision.
#   head     a global max-pool (MaxPool2d over the last 3×3 map), Linear without bias, logits × 1/9.
#
# Two of airbench's optimiser settings belong to the parametrisation and live here as a `lr_scale`
# attribute on a parameter, which nets.engine.optim honours for SGD (keeping lr × weight decay as it
# is): the BatchNorm shifts learn 64× faster, and the 1/9 scale of the logits is folded into the head's
# initial weights with lr_scale 1/81, which for SGD is exactly a Linear followed by × 1/9.
from __future__ import annotations

import torch
from torch import nn

from nets.engine.layers import ModelError

WHITEN_KERNEL = 2
WHITEN_IMAGES = 5000     # training images whose patches estimate the covariance
WHITEN_EPS = 5e-4        # added to each eigenvalue: the flattest directions are not blown up
BN_MOMENTUM = 0.4        # PyTorch's convention (airbench's 0.6 is 1 − this)
BIAS_LR_SCALE = 64.0     # the BatchNorm shifts' learning rate, relative to the rest (SGD)
LOGIT_SCALE = 1 / 9


def _float_input(module: nn.Module, args: tuple) -> tuple:
    """Forward pre-hook: the batch norm computes in float32 (the statistics of half-precision activations)."""
    return (args[0].float(),)


def _autocast_output(module: nn.Module, args: tuple, out: torch.Tensor) -> torch.Tensor:
    """Forward hook: under autocast the output goes back to the autocast type for the layers after it."""
    kind = out.device.type
    if kind not in ("cuda", "cpu", "mps", "xpu"):  # the meta device (cost estimates, shapes) has no autocast
        return out
    return out.to(torch.get_autocast_dtype(kind)) if torch.is_autocast_enabled(kind) else out


def _norm(c: int, fp32: bool) -> nn.BatchNorm2d:
    bn = nn.BatchNorm2d(c, eps=1e-12, momentum=BN_MOMENTUM)
    bn.weight.requires_grad_(False)       # the scale stays 1: only the shift trains
    bn.bias.lr_scale = BIAS_LR_SCALE
    if fp32:  # hooks, not a subclass: the layer stays PyTorch's own for the export and the anatomy table
        bn.register_forward_pre_hook(_float_input)
        bn.register_forward_hook(_autocast_output)
    return bn


def _block(c_in: int, c_out: int, fp32: bool) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.MaxPool2d(2), _norm(c_out, fp32), nn.GELU(),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), _norm(c_out, fp32), nn.GELU()]


class Airbench(nn.Sequential):
    """The network as one Sequential (parameter names 0.weight, 2.weight, …), with `prepare`."""

    def prepare(self, data) -> None:
        """Set the frozen whitening filters from the training images of `data` (an ImageData); a
        trainable first layer (whiten off) keeps its draw."""
        first = self[0]
        if first.weight.requires_grad:
            return
        from nets.engine.data import stats_tensors, to_input  # data.py is heavier than this module
        x = data.x_train
        idx = torch.linspace(0, len(x) - 1, min(len(x), WHITEN_IMAGES)).long()  # spread over the set, no RNG
        mean, std = stats_tensors(data.mean, data.std, x.device)
        images = to_input(x[idx], mean, std, data.scale)
        with torch.no_grad():
            first.weight.copy_(whitening_filters(images, WHITEN_KERNEL).to(first.weight))
            first.bias.zero_()


def patch_covariance(images: torch.Tensor, k: int, chunk: int = 500) -> torch.Tensor:
    """The (C·k·k)² second moment of all k×k patches of N×C×H×W images (uncentred, as airbench), in chunks."""
    c = images.shape[1]
    total, count = torch.zeros(c * k * k, c * k * k, dtype=torch.float64), 0
    for i in range(0, len(images), chunk):
        p = images[i:i + chunk].float().unfold(2, k, 1).unfold(3, k, 1)       # N, C, H', W', k, k
        p = p.permute(0, 2, 3, 1, 4, 5).reshape(-1, c * k * k).double()      # one row per patch: (c, i, j)
        total += (p.T @ p).cpu()
        count += len(p)
    return total / max(count, 1)


def whitening_filters(images: torch.Tensor, k: int = WHITEN_KERNEL, eps: float = WHITEN_EPS) -> torch.Tensor:
    """2·C·k² filters (C·k² whitening ones, largest eigenvalue first, then the same negated), C×k×k each."""
    c = images.shape[1]
    values, vectors = torch.linalg.eigh(patch_covariance(images, k))        # ascending
    values, vectors = values.flip(0), vectors.flip(1)
    filters = (vectors.T / (values.clamp_min(0) + eps).sqrt().view(-1, 1)).reshape(-1, c, k, k)
    return torch.cat([filters, -filters]).float()


def final_size(side: int) -> int:
    """The side of the last feature map: the 2×2 whitening conv, then three halvings."""
    return (side - WHITEN_KERNEL + 1) // 8


def airbench(in_shape, num_classes, channels=(64, 256, 256), whiten=True, bn_fp32=True) -> Airbench:
    """airbench94, the CIFAR-10 speed run's network: a frozen 2×2 patch-whitening conv (24 filters for
    RGB, set from the training images' patches) and GELU, then three blocks of conv 3×3 · max-pool ·
    batch norm · GELU · conv 3×3 · batch norm · GELU (64, 256, 256 channels), a global max-pool and a
    bias-free Linear whose logits are scaled by 1/9. 1,972,792 parameters on CIFAR-10, 1,440 of them frozen."""
    if len(channels) != 3:
        raise ModelError(f"airbench has three blocks: give three channel counts, not {list(channels)}.")
    c, h, w = in_shape
    if min(final_size(h), final_size(w)) < 1:
        raise ModelError(f"airbench needs images of at least 9×9 pixels; this dataset has {h}×{w}.")
    width = 2 * c * WHITEN_KERNEL ** 2
    first = nn.Conv2d(c, width, WHITEN_KERNEL, bias=True)
    with torch.no_grad():
        first.bias.zero_()
    if whiten:
        first.weight.requires_grad_(False)
    layers: list[nn.Module] = [first, nn.GELU()]
    c_in = width
    for c_out in channels:
        layers += _block(c_in, c_out, bn_fp32)
        c_in = c_out
    head = nn.Linear(c_in, num_classes, bias=False)
    with torch.no_grad():
        head.weight.mul_(LOGIT_SCALE)
    head.weight.lr_scale = LOGIT_SCALE ** 2
    pool = (final_size(h), final_size(w))
    layers += [nn.MaxPool2d(pool if pool[0] != pool[1] else pool[0]), nn.Flatten(), head]
    return Airbench(*layers)

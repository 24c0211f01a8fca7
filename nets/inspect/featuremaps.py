"""What a CNN computes on the way: the feature maps of its probed layers, one image at a time."""
# A forward hook on each probed layer keeps its output a^(l) (C×H×W for one image). A ResNet is
# probed after its stem (conv1 · bn1 · relu · maxpool) and after every residual block (layer1.0 …
# layer4.1), a small sequential CNN after each convolution's activation. Channels are ranked by
# their mean activation and drawn as tiles, each min-max scaled on its own, so a weak channel is
# visible. Nothing here changes a model for good: shared (cached) models are only read.
from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nets.inspect.pictures import enlarge, tile_grid

STEM = "stem (conv1·bn1·relu·maxpool)"
SMALL_STEM = "stem (conv1·bn1·relu)"        # the 32×32 variant has no max-pool
TILE_PX = 96      # feature-map tiles are enlarged by whole pixels to at least this size


@dataclass
class LayerView:
    name: str
    shape: tuple[int, int, int]     # C×H×W of the layer's output
    channels: list[int]             # the channels drawn, most active first
    grid: np.ndarray                # their tiles side by side, uint8 H×W


# ------------------------------------------------------------------------------ which layers
def is_resnet(model: nn.Module) -> bool:
    return all(hasattr(model, a) for a in ("conv1", "bn1", "relu", "maxpool", "layer1", "layer4"))


def _describe(module: nn.Module) -> str:
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        return type(module).__name__
    first, last = convs[0], convs[-1]
    k = "×".join(str(v) for v in first.kernel_size)
    return f"{type(module).__name__} {first.in_channels}→{last.out_channels} {k}"


def _has_conv(module: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) for m in module.modules())


def _is_activation(module: nn.Module) -> bool:
    from nets.engine.models import ACTIVATIONS
    return isinstance(module, tuple({type(make()) for make in ACTIVATIONS.values()}))


def probe_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The layers whose outputs are shown, in forward order, with the names the page prints."""
    if is_resnet(model):
        stem = SMALL_STEM if isinstance(model.maxpool, nn.Identity) else STEM
        layers = [(stem, model.maxpool)]   # maxpool's output is the stem's, Identity or not
        for i in range(1, 5):
            layers += [(f"layer{i}.{j}", block) for j, block in enumerate(getattr(model, f"layer{i}"))]
        return layers
    if isinstance(model, nn.Sequential):
        return _sequential_layers(model)
    return [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]


def _sequential_layers(model: nn.Sequential) -> list[tuple[str, nn.Module]]:
    """Each convolution (a child holding Conv2d, e.g. a GatedConv) up to its activation: rectified
    maps are what the next layer receives and what Grad-CAM needs (a raw conv output is mostly
    negative, and its Grad-CAM mostly cut away by the ReLU)."""
    children = list(model)
    starts = [i for i, m in enumerate(children) if _has_conv(m)]
    layers = []
    for n, i in enumerate(starts, 1):
        stop = starts[n] if n < len(starts) else len(children)
        # A composite layer (a GatedConv) applies its own activation.
        j = next((j for j in range(i + 1, stop) if _is_activation(children[j])), i) \
            if isinstance(children[i], nn.Conv2d) else i
        parts = [_describe(children[i])] + [type(m).__name__ for m in children[i + 1:j + 1]
                                            if not isinstance(m, nn.Dropout2d | nn.Dropout)]
        where = f"model[{i}]" if j == i else f"model[{i}:{j + 1}]"
        layers.append((f"conv{n} ({where}: {' → '.join(parts)})", children[j]))
    return layers


# ------------------------------------------------------------------------------ feature maps
def forward_with_maps(model: nn.Module, x: torch.Tensor, layers=None):
    """One forward pass of one image (1×C×H×W): (its logits, [(name, C×H×W output)] per layer)."""
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"Expected one image of shape 1×C×H×W, got {tuple(x.shape)}")
    layers = probe_layers(model) if layers is None else list(layers)
    caught: dict[int, torch.Tensor] = {}
    me = threading.get_ident()

    def keep(i):
        def hook(module, inputs, output):
            # The model may be shared across sessions: ignore forwards run by other threads.
            if threading.get_ident() == me and i not in caught:
                caught[i] = output.detach()[0].float().clone()
        return hook

    handles = [m.register_forward_hook(keep(i)) for i, (_, m) in enumerate(layers)]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(x.float()).float()[0]
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return out, [(name, caught[i]) for i, (name, _) in enumerate(layers) if i in caught]


def activation_maps(model: nn.Module, x: torch.Tensor, layers=None) -> list[tuple[str, torch.Tensor]]:
    """[(name, C×H×W output)] of each layer (all of probe_layers by default) for one image."""
    return forward_with_maps(model, x, layers)[1]


def top_channels(fmap: torch.Tensor, k: int = 16) -> list[int]:
    """The k channels of a C×H×W map with the largest mean activation, largest first."""
    means = fmap.float().mean(dim=(1, 2))
    return means.topk(min(k, len(means))).indices.tolist()


def channel_tiles(fmap: torch.Tensor, channels, tile: int = TILE_PX) -> list[np.ndarray]:
    """One uint8 image per channel, min-max scaled on its own (a flat channel is black), enlarged
    with nearest neighbours by a whole factor so a 4×4 map shows 4×4 clear squares."""
    h, w = fmap.shape[1:]
    factor = max(1, math.ceil(tile / max(h, w)))
    out = []
    for c in channels:
        a = fmap[c].float()
        lo, hi = a.min(), a.max()
        a = (a - lo) / (hi - lo) if hi > lo else torch.zeros_like(a)
        a = (a * 255).round().to(torch.uint8).numpy()
        out.append(enlarge(a, factor))
    return out


def layer_views(model: nn.Module, x: torch.Tensor, k: int = 16) -> tuple[torch.Tensor, list[LayerView]]:
    """The logits and, per probed layer, a grid of its k most active channels."""
    logits, maps = forward_with_maps(model, x)
    views = []
    for name, fmap in maps:
        if fmap.ndim != 3:
            continue     # a layer that does not output C×H×W maps has nothing to draw
        channels = top_channels(fmap, k)
        grid = tile_grid(channel_tiles(fmap, channels), math.ceil(math.sqrt(len(channels))))
        views.append(LayerView(name, tuple(fmap.shape), channels, grid))
    return logits, views

"""Which pixels did the model use for a class? Attribution maps (Captum, Grad-CAM) and a heat-map overlay."""
# Four views of the same question for one input x and one class c:
# - saliency: |∂z_c/∂x|, how much a tiny change of each pixel moves the class score z_c;
# - integrated gradients: (x − x₀) · the gradient averaged along the straight path from a baseline
#   x₀ (an empty picture) to x; the attributions add up to z_c(x) − z_c(x₀);
# - occlusion: cover a small window with the baseline and see how much z_c drops;
# - Grad-CAM (Selvaraju et al.) at a convolutional layer l: the weights α_k = mean over positions of
#   ∂z_c/∂A_k, the map ReLU(Σ_k α_k A_k), upsampled to the input size (Captum's LayerGradCam).
# Every map comes back as H×W in [0, 1] (the first three: absolute values summed over channels), so
# the maps can be shown side by side with one colour scale.
from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from nets.inspect.featuremaps import probe_layers

METHODS = {"integrated gradients": "integrated_gradients", "saliency": "saliency", "occlusion": "occlusion"}

# Anchor colours of the heat map (dark blue → red → yellow), roughly matplotlib's "inferno" ends.
_HEAT_COLOURS = np.array([[20, 11, 52], [120, 28, 109], [187, 55, 84], [237, 105, 37], [252, 255, 164]],
                         dtype=np.float64)


def occlusion_window(height: int, width: int) -> tuple[int, int]:
    """(window, stride): about a seventh of the short side, so a window covers a stroke, not a digit."""
    window = max(2, round(min(height, width) / 7))
    return window, max(1, window // 2)


def attribute(model: nn.Module, x: torch.Tensor, target: int, method: str,
              baseline: torch.Tensor | None = None, n_steps: int = 32) -> np.ndarray:
    """An H×W attribution map in [0, 1] for class `target` and the normalised input x (1×C×H×W).

    baseline: the normalised "nothing here" input (same shape as x); zeros (the dataset mean) if None."""
    from captum.attr import IntegratedGradients, Occlusion, Saliency

    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"Expected one normalised image of shape 1×C×H×W, got {tuple(x.shape)}")
    key = METHODS.get(method, method)
    x = x.detach().float().clone()
    base = torch.zeros_like(x) if baseline is None else baseline.detach().float().expand_as(x).contiguous()
    was_training = model.training
    model.eval()  # dropout off: the map should explain the prediction the page shows
    try:
        if key == "saliency":
            attr = Saliency(model).attribute(x.requires_grad_(), target=int(target), abs=True)
        elif key == "integrated_gradients":
            attr = IntegratedGradients(model).attribute(x, baselines=base, target=int(target),
                                                        n_steps=n_steps, internal_batch_size=n_steps)
        elif key == "occlusion":
            c, h, w = x.shape[1:]
            window, stride = occlusion_window(h, w)
            attr = Occlusion(model).attribute(x, sliding_window_shapes=(c, window, window),
                                              strides=(c, stride, stride), baselines=base,
                                              target=int(target), perturbations_per_eval=64)
        else:
            raise ValueError(f"Unknown attribution method '{method}'. Choose from: {', '.join(METHODS)}.")
    finally:
        model.train(was_training)
    return normalise_map(attr.detach()[0].abs().sum(0).numpy())


def last_conv_layer(model: nn.Module) -> nn.Module:
    """Grad-CAM's layer: the last probed layer (featuremaps.probe_layers), i.e. the last residual
    block, or the last convolution (with its activation) of a small CNN."""
    layers = probe_layers(model)
    if not layers:
        raise ValueError(f"{type(model).__name__} has no convolutional layer: no feature maps to show.")
    return layers[-1][1]


def grad_cam(model: nn.Module, x: torch.Tensor, target: int, layer: nn.Module | str | None = None) -> np.ndarray:
    """Grad-CAM for class `target` at `layer` (default: last_conv_layer) as an H×W map in [0, 1]
    at the input's size (1×C×H×W); all zero when no position speaks for the class."""
    from captum.attr import LayerAttribution, LayerGradCam

    layer = last_conv_layer(model) if layer is None else layer
    if isinstance(layer, nn.Module):
        names = {id(m): n for n, m in model.named_modules()}
        if id(layer) not in names or not names[id(layer)]:
            raise ValueError("Grad-CAM's layer must be a submodule of the model.")
        layer = names[id(layer)]
    # Captum hooks the layer and runs the model; on a private copy a shared model's concurrent
    # forwards cannot mix in, and nothing (mode, hooks, requires_grad) changes on the original.
    net = copy.deepcopy(model).eval()
    net.requires_grad_(True)
    if int(target) < 0:
        raise ValueError(f"Class {target} does not exist: classes are numbered from 0.")
    with torch.enable_grad():
        inp = x.detach().float().clone().requires_grad_(True)
        cam = LayerGradCam(net, net.get_submodule(layer))
        try:
            attr = cam.attribute(inp, target=int(target), relu_attributions=True)
        except IndexError as e:
            raise ValueError(f"Class {target} does not exist: the model has {net(inp).shape[1]} classes.") from e
        up = LayerAttribution.interpolate(attr.detach(), tuple(x.shape[-2:]), interpolate_mode="bilinear")
    return normalise_map(up[0, 0].clamp_min(0).numpy())


def normalise_map(a: np.ndarray) -> np.ndarray:
    """Scale a non-negative map to [0, 1] by its maximum; an all-zero map stays zero."""
    a = np.nan_to_num(np.asarray(a, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    a = np.abs(a)
    top = a.max(initial=0.0)
    return (a / top if top > 0 else np.zeros_like(a)).astype(np.float32)


def heat_colours(heat: np.ndarray) -> np.ndarray:
    """[0, 1] values → H×W×3 uint8 colours along the heat-map scale."""
    t = np.clip(np.asarray(heat, dtype=np.float64), 0, 1) * (len(_HEAT_COLOURS) - 1)
    i = np.minimum(t.astype(int), len(_HEAT_COLOURS) - 2)
    f = (t - i)[..., None]
    return np.rint(_HEAT_COLOURS[i] * (1 - f) + _HEAT_COLOURS[i + 1] * f).astype(np.uint8)


def overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.7) -> np.ndarray:
    """The heat map over the input: H×W or H×W×3 uint8 image, H×W heat in [0, 1] → H×W×3 uint8.

    Each pixel's opacity grows with its heat (square root: attributions are usually a few strong
    pixels and many weak ones), so unimportant regions still show the input."""
    img = np.asarray(image, dtype=np.float64)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    heat = np.asarray(heat, dtype=np.float64)
    if img.shape[:2] != heat.shape:
        raise ValueError(f"image {img.shape[:2]} and heat map {heat.shape} differ in size")
    weight = (alpha * np.sqrt(np.clip(heat, 0, 1)))[..., None]
    out = img * (1 - weight) + heat_colours(heat).astype(np.float64) * weight
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)

"""Which pixels did the model use? Attribution maps with Captum, and a heat-map overlay.

Three views of the same question for one input x and one class c:
- saliency: |∂z_c/∂x|, how much a tiny change of each pixel moves the class score z_c;
- integrated gradients: (x − x₀) · the gradient averaged along the straight path from a baseline
  x₀ (an empty picture) to x; the attributions add up to z_c(x) − z_c(x₀);
- occlusion: cover a small window with the baseline and see how much z_c drops.
Every map comes back as H×W, absolute values summed over channels, scaled to [0, 1], so the three
can be shown side by side with one colour scale.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

METHODS = {"integrated gradients": "integrated_gradients", "saliency": "saliency", "occlusion": "occlusion"}

# Anchor colours of the heat map (dark blue → red → yellow), roughly matplotlib's "inferno" ends.
_HEAT_COLOURS = np.array([[20, 11, 52], [120, 28, 109], [187, 55, 84], [237, 105, 37], [252, 255, 164]],
                         dtype=np.float64)


@torch.no_grad()
def logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The K class scores for one normalised 1×C×H×W input (softmax them with preprocess.top_k)."""
    was_training = model.training
    model.eval()
    try:
        return model(x).float()[0]
    finally:
        model.train(was_training)


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

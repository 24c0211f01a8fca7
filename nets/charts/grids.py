"""Test images in grids: whole-pixel enlargement, captions that mark right and wrong predictions, contact sheets."""
from __future__ import annotations

import math

import numpy as np
import torch

from nets.engine.evaluate import Evaluation
from nets.inspect.pictures import enlarge_to, tile_grid, to_display

DISPLAY_SIZE = 84            # images are upscaled to about this many pixels for the grids


def display_image(x: torch.Tensor, size: int = DISPLAY_SIZE) -> np.ndarray:
    """uint8 C×H×W → H×W (grey) or H×W×3, enlarged by a whole factor with nearest neighbours so
    the pixels stay sharp instead of being blurred by the browser."""
    return enlarge_to(to_display(x.detach().cpu().numpy().astype(np.uint8, copy=False)), size)


def image_grid_items(evaluation: Evaluation, indices, x_test: torch.Tensor, classes: list[str] | None = None,
                     notes: list[str] | None = None, size: int = DISPLAY_SIZE) -> list[tuple[np.ndarray, str]]:
    """(image, caption) per test index; the caption marks right (✓) or wrong (✗) predictions."""
    classes = classes or evaluation.classes
    items = []
    for n, i in enumerate(int(i) for i in indices):
        t, p = int(evaluation.labels[i]), int(evaluation.predictions[i])
        caption = f"{'✓' if t == p else '✗'} true {classes[t]}, predicted {classes[p]}"
        if notes is not None:
            caption += f" · {notes[n]}"
        items.append((display_image(x_test[i], size), caption))
    return items


def contact_sheet(images: list[np.ndarray], per_row: int = 8, gap: int = 2, background: int = 255) -> np.ndarray:
    """Images of one shape (H×W grey or H×W×3) in one picture, `per_row` to a row, `gap` pixels
    apart: a compact grid whose size does not depend on captions or the browser's width."""
    return tile_grid(images, per_row, gap, fill=background)


def loss_notes(losses: list[float]) -> list[str]:
    return [f"loss {v:.2f}" if math.isfinite(v) else "loss ∞" for v in losses]

"""Arrays as pictures on a screen: C×H×W ↔ H×W(×3), square padding, whole-pixel enlargement, tile grids."""
from __future__ import annotations

import math

import numpy as np
from PIL import Image

GAP_PX, GAP_GRAY = 2, 128   # tile grids: a thin gray line between tiles


def to_chw(image: Image.Image, max_side: int | None = None) -> np.ndarray:
    """A PIL L or RGB image → C×H×W uint8, shrunk (keeping its shape) to at most max_side."""
    if max_side and max(image.size) > max_side:
        image = image.copy()
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    a = np.asarray(image.convert("L") if image.mode == "L" else image.convert("RGB"), np.uint8)
    return a[None].copy() if a.ndim == 2 else a.transpose(2, 0, 1).copy()


def to_display(chw: np.ndarray) -> np.ndarray:
    """C×H×W → H×W (one channel) or H×W×3, what st.image and PIL expect."""
    return chw[0] if chw.shape[0] == 1 else chw.transpose(1, 2, 0)


def border(a: np.ndarray) -> np.ndarray:
    """The outer ring of pixels (about 5 % of the side), where the background is."""
    h, w = a.shape[:2]
    k = max(1, min(h, w) // 20)
    ring = np.ones((h, w), bool)
    ring[k:h - k, k:w - k] = False
    return a[ring]


def square(image: np.ndarray) -> np.ndarray:
    """Pad an H×W(×3) image to a centred square with its border's colour, so thumbnails of a tall
    crop and a wide photo line up at the same size."""
    h, w = image.shape[:2]
    side = max(h, w)
    fill = np.median(border(image).reshape(-1, *image.shape[2:]), axis=0).astype(image.dtype)
    out = np.empty((side, side, *image.shape[2:]), image.dtype)
    out[:] = fill
    top, left = (side - h) // 2, (side - w) // 2
    out[top:top + h, left:left + w] = image
    return out


# A browser scales a small image up smoothly and a 28×28 digit turns into a blur: pictures of a
# model's input are enlarged here by a whole factor instead, so each model pixel stays a crisp square.
def enlarge(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscaling of an H×W(×3) image: each pixel becomes a factor×factor square."""
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def enlarge_to(image: np.ndarray, px: int) -> np.ndarray:
    """An H×W(×3) image enlarged by the largest whole factor that keeps its longer side within px
    (never shrunk): drawn px wide, its pixels stay squares of one size."""
    return enlarge(image, max(1, int(px) // max(image.shape[:2])))


def tile_grid(tiles, cols: int, gap: int = GAP_PX, fill: int = GAP_GRAY) -> np.ndarray:
    """Equal-sized H×W or H×W×3 uint8 tiles in rows of `cols`, with a gray gap between them."""
    tiles = [np.asarray(t) for t in tiles]
    if not tiles:
        raise ValueError("No tiles to arrange.")
    h, w = tiles[0].shape[:2]
    cols = max(1, min(cols, len(tiles)))
    rows = math.ceil(len(tiles) / cols)
    grid = np.full((rows * h + (rows - 1) * gap, cols * w + (cols - 1) * gap, *tiles[0].shape[2:]),
                   fill, np.uint8)
    for n, t in enumerate(tiles):
        r, c = divmod(n, cols)
        grid[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = t
    return grid

"""From any picture to the exact tensor a run's model receives, one visible step at a time."""
# A model only works on inputs that look like its training data. MNIST digits are white on black,
# scaled so their bounding box fits 20×20 pixels, and placed in a 28×28 field so that their centre of
# mass sits at pixel (14, 14) (LeCun et al.). A phone photo of a digit is black on grey paper, large and
# off-centre, so the MNIST recipe is redone here: gray, invert when the background is light, stretch
# the contrast, crop, fit, centre by mass. Fashion-MNIST fits the whole 28×28 and centres the box;
# other models get an aspect-preserving resize padded with the dataset's mean colour (which becomes
# 0 after normalisation, the most neutral value).
#
# `perturb` is the robustness probe's input change (rotation, shift, scale, noise), seeded so the
# same slider values always give the same image.
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from nets.engine.data import stats_tensors, to_input
from nets.inspect.pictures import border, to_display

MNIST_BOX = 20          # MNIST's digits are fitted into a 20×20 box inside the 28×28 field
INK_THRESHOLD = 0.1     # a pixel above 10 % of full brightness counts as ink when cropping


@dataclass
class Step:
    title: str
    detail: str
    image: np.ndarray          # H×W (gray) or H×W×3 uint8, for display


@dataclass
class Prepared:
    image: np.ndarray          # C×H×W uint8: what the model sees, before normalisation
    x: torch.Tensor            # 1×C×H×W float32: (image/255 − mean)/std, the model's actual input
    steps: list[Step] = field(default_factory=list)
    style: str = "photo"
    background: tuple[int, ...] = (0,)   # per-channel uint8 value of "nothing here"
    blank: bool = False        # no ink found: any prediction is a guess


def style_for(input_shape, dataset: str | None = None) -> str:
    """Which recipe matches how the run's training images were made."""
    c, h, w = (int(v) for v in input_shape)
    if dataset == "fashion-mnist":
        return "fashion"
    if c == 1 and h == 28 and w == 28:
        return "mnist"
    return "photo"


def normalise(image: np.ndarray, mean, std) -> torch.Tensor:
    """C×H×W uint8 → 1×C×H×W float32, with the same formula as training (nets.engine.data.to_input)."""
    mean_t, std_t = stats_tensors(mean, std, "cpu")
    return to_input(torch.from_numpy(np.ascontiguousarray(image))[None], mean_t, std_t)


def preprocess(image: Image.Image, input_shape, mean, std, style: str | None = None) -> Prepared:
    """A PIL image → the run's model input, with every step recorded for display."""
    c, h, w = (int(v) for v in input_shape)
    style = style or style_for(input_shape)
    if style not in ("mnist", "fashion", "photo"):
        raise ValueError(f"Unknown preprocessing style '{style}'.")
    if c not in (1, 3):
        raise ValueError(f"Models with {c} input channels are not supported (only 1 or 3).")
    steps: list[Step] = []
    if style == "photo":
        chw, background, blank = _photo(image, c, h, w, mean, steps)
    else:
        chw, background, blank = _digit(image, h, w, style, steps)
    steps.append(Step("Model input", f"{c}×{h}×{w} uint8, then (x/255 − mean)/std with mean "
                      f"{_fmt(mean)} and std {_fmt(std)}.", to_display(chw)))
    return Prepared(chw, normalise(chw, mean, std), steps, style, background, blank)


def _fmt(values) -> str:
    return "[" + ", ".join(f"{float(v):.3f}" for v in values) + "]"


def _gray(image: Image.Image, steps: list[Step]) -> np.ndarray:
    if image.mode != "L":
        image = image.convert("L")
        steps.append(Step("Grayscale", "Colour removed: the model was trained on gray images "
                          "(L = 0.299 R + 0.587 G + 0.114 B).", np.asarray(image)))
    return np.asarray(image, dtype=np.uint8)


def is_light_background(gray: np.ndarray) -> bool:
    return float(np.median(border(gray))) > 127


def _digit(image: Image.Image, h: int, w: int, style: str, steps: list[Step]):
    a = _gray(image, steps)
    if is_light_background(a):
        a = 255 - a
        steps.append(Step("Invert", "The border is light, so the picture is dark ink on light paper; "
                          "the training digits are light on black, so it was inverted.", a))
    else:
        steps.append(Step("Invert?", "The border is already dark: not inverted.", a))
    a, blank = _stretch(a, steps)
    if blank:
        steps.append(Step("No ink", "Nothing stands out from the background: the prediction is a guess.",
                          a))
        return np.zeros((1, h, w), np.uint8), (0,), True
    ys, xs = np.nonzero(a > INK_THRESHOLD * 255)
    a = a[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    steps.append(Step("Crop", f"Cropped to the ink's bounding box ({a.shape[1]}×{a.shape[0]} pixels).", a))
    box = MNIST_BOX if style == "mnist" else min(h, w)
    fitted = _fit(Image.fromarray(a), box, box)
    out = np.zeros((h, w), np.uint8)
    top, left = (h - fitted.shape[0]) // 2, (w - fitted.shape[1]) // 2
    out[top:top + fitted.shape[0], left:left + fitted.shape[1]] = fitted
    steps.append(Step("Fit", f"Resized (keeping its shape) to fit a {box}×{box} box, placed in a "
                      f"{w}×{h} black field.", out))
    if style == "mnist":
        out, (dy, dx) = centre_by_mass(out)
        steps.append(Step("Centre", f"Shifted by ({dx:+d}, {dy:+d}) pixels so the centre of mass is at "
                          f"({w // 2}, {h // 2}), as in MNIST.", out))
    return out[None], (0,), False


def _stretch(a: np.ndarray, steps: list[Step]) -> tuple[np.ndarray, bool]:
    """Make the background black and the strongest ink white, as in the training digits."""
    bg, peak = float(np.median(border(a))), float(a.max())
    if peak - bg < 16:
        return a, True
    # Grey paper: cut a little above it so its texture and noise do not become faint ink.
    lo = bg + 0.1 * (peak - bg) if bg > 10 else bg
    if lo <= 0 and peak >= 255:
        return a, False
    out = np.clip((a.astype(np.float64) - lo) / (peak - lo), 0, 1)
    out = np.rint(out * 255).astype(np.uint8)
    steps.append(Step("Contrast", f"Levels {lo:.0f}…{peak:.0f} stretched to 0…255 so the background "
                      "is black and the ink white.", out))
    return out, False


def _fit(image: Image.Image, h: int, w: int) -> np.ndarray:
    """Resize keeping the aspect ratio so the image fits h×w (one side touches)."""
    iw, ih = image.size
    s = min(w / iw, h / ih)
    size = (max(1, min(w, round(iw * s))), max(1, min(h, round(ih * s))))
    return np.asarray(image.resize(size, Image.Resampling.LANCZOS))


def centre_of_mass(a: np.ndarray) -> tuple[float, float]:
    """(row, column) of the intensity-weighted mean position; the middle for an empty image."""
    a = a.astype(np.float64)
    total = a.sum()
    if total <= 0:
        return (a.shape[0] - 1) / 2, (a.shape[1] - 1) / 2
    rows, cols = np.indices(a.shape)
    return float((rows * a).sum() / total), float((cols * a).sum() / total)


def centre_by_mass(a: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """Shift by whole pixels so the centre of mass lands on (H/2, W/2); returns (image, (dy, dx))."""
    r, c = centre_of_mass(a)
    dy, dx = round(a.shape[0] / 2 - r), round(a.shape[1] / 2 - c)
    return shift_image(a, dy, dx), (dy, dx)


def shift_image(a: np.ndarray, dy: int, dx: int, fill=0) -> np.ndarray:
    out = np.full_like(a, fill)
    h, w = a.shape[:2]
    src = a[max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
    out[max(0, dy):max(0, dy) + src.shape[0], max(0, dx):max(0, dx) + src.shape[1]] = src
    return out


def _photo(image: Image.Image, c: int, h: int, w: int, mean, steps: list[Step]):
    if c == 1:
        a = _gray(image, steps)
        im = Image.fromarray(a)
    else:
        im = image.convert("RGB")
        if image.mode != "RGB":
            steps.append(Step("Colour", "Gray copied into red, green and blue: the model takes 3 channels.",
                              np.asarray(im)))
    background = tuple(round(float(m) * 255) for m in mean)
    fitted = _fit(im, h, w)
    out = np.empty((h, w, c), np.uint8)
    out[:] = np.array(background, np.uint8)
    top, left = (h - fitted.shape[0]) // 2, (w - fitted.shape[1]) // 2
    out[top:top + fitted.shape[0], left:left + fitted.shape[1]] = fitted.reshape(fitted.shape[0], fitted.shape[1], c)
    steps.append(Step("Resize and pad", f"Resized (keeping its shape) to fit {w}×{h}; the rest filled with "
                      "the dataset's mean colour, which normalises to 0.", to_display(out.transpose(2, 0, 1))))
    blank = int(out.max()) - int(out.min()) < 8
    return out.transpose(2, 0, 1).copy(), background, blank


def baseline(background, shape, mean, std) -> torch.Tensor:
    """The normalised input of an empty C×H×W picture filled with `background` (a Prepared's):
    attribution's reference point, "nothing here"."""
    flat = np.empty(tuple(shape), np.uint8)
    flat[:] = np.array(background, np.uint8).reshape(-1, 1, 1)
    return normalise(flat, mean, std)


def perturb(image: np.ndarray, rotation: float = 0.0, shift: tuple[int, int] = (0, 0), scale: float = 1.0,
            noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """Rotate (degrees, counter-clockwise as seen), shift (dx right, dy down, in pixels) and scale
    about the centre, then add Gaussian noise (std in 0–1 units), on a C×H×W uint8 image. Uncovered
    pixels get the border's colour. The same arguments always give the same image."""
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    x = torch.from_numpy(np.ascontiguousarray(image)).float()
    if rotation or scale != 1 or any(shift):
        fill = torch.tensor([float(np.median(border(ch))) for ch in image]).view(-1, 1, 1)
        x = _affine(x - fill, rotation, shift, scale) + fill
    if noise > 0:
        g = torch.Generator().manual_seed(int(seed))
        x = x + torch.randn(x.shape, generator=g) * (noise * 255)
    return x.round().clamp(0, 255).to(torch.uint8).numpy()


def _affine(x: torch.Tensor, rotation: float, shift, scale: float) -> torch.Tensor:
    """Bilinear affine warp of a C×H×W float image, zeros outside. grid_sample wants, for every
    output pixel, where to read in the input: the inverse map p_in = R⁻¹(p_out − t)/s, written in
    pixels about the centre and converted to its [-1, 1] coordinates (D = half the size)."""
    c, h, w = x.shape
    a = math.radians(rotation)
    # y points down on screen, so this inverse undoes a visually counter-clockwise rotation.
    r_inv = torch.tensor([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]], dtype=torch.float64) / scale
    d_inv = torch.diag(torch.tensor([2.0 / w, 2.0 / h], dtype=torch.float64))
    d = torch.diag(torch.tensor([w / 2.0, h / 2.0], dtype=torch.float64))
    t = torch.tensor([float(shift[0]), float(shift[1])], dtype=torch.float64)
    theta = torch.cat([d_inv @ r_inv @ d, (-(d_inv @ r_inv @ t))[:, None]], dim=1)[None].float()
    grid = torch.nn.functional.affine_grid(theta, [1, c, h, w], align_corners=False)
    return torch.nn.functional.grid_sample(x[None], grid, mode="bilinear", padding_mode="zeros",
                                           align_corners=False)[0]


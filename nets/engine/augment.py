"""Batched, on-device data augmentation for image tensors (N x C x H x W, floats in [0, 1])."""
# Why batched on the device: the classic per-sample PIL/torchvision path runs in the DataLoader
# workers and caps a loader at roughly 14k CIFAR images/s on these machines, so a small net on a
# GPU spends most of its time waiting for data.  Here every augmentation is a handful of tensor ops
# over the whole batch, each sample with its own random parameters drawn in one call, and nothing
# ever syncs with the host (no .item(), .cpu(), or data-dependent Python branching).
#
# Reproducibility: pass a ``torch.Generator`` living on x's device; the same seed gives the same
# output.  Every function draws its random numbers in a fixed order so this holds.
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from nets.engine.catalog import MIRROR_CHANGES_CLASS

__all__ = ["AUGMENTATIONS", "LABELS", "augment", "augmented_copies", "check_names", "describe"]

_LUMA = (0.299, 0.587, 0.114)  # ITU-R 601-2, what PIL and torchvision use for "L"


def _uniform(x: torch.Tensor, lo: float, hi: float, g: torch.Generator | None) -> torch.Tensor:
    """One value per sample, shaped N x 1 x 1 x 1 so it broadcasts over the image."""
    u = torch.rand(x.shape[0], generator=g, device=x.device, dtype=torch.float32)
    return (lo + (hi - lo) * u).to(x.dtype).view(-1, 1, 1, 1)


def _coin(x: torch.Tensor, p: float, g: torch.Generator | None) -> torch.Tensor:
    """Per-sample boolean mask (N x 1 x 1 x 1), True with probability p."""
    return (torch.rand(x.shape[0], generator=g, device=x.device) < p).view(-1, 1, 1, 1)


def _gray(x: torch.Tensor) -> torch.Tensor:
    """Luma as N x 1 x H x W (a single-channel image already is its own grayscale)."""
    if x.shape[1] == 1:
        return x
    w = torch.tensor(_LUMA, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True)


def _shift(x: torch.Tensor, g: torch.Generator | None, ph: int, pw: int, mode: str) -> torch.Tensor:
    """Pad by (ph, pw) (zeros or a mirror image of the border) and take a random H x W window per sample."""
    n, c, h, w = x.shape
    padded = F.pad(x, (pw, pw, ph, ph), mode=mode)
    dy = torch.randint(0, 2 * ph + 1, (n,), generator=g, device=x.device)
    dx = torch.randint(0, 2 * pw + 1, (n,), generator=g, device=x.device)
    # One gather over the flattened padded plane: exact integer shifts, no interpolation blur,
    # and ~8x faster on CPU than four-tensor advanced indexing.
    wp = w + 2 * pw
    rows = dy.view(n, 1, 1) + torch.arange(h, device=x.device).view(1, h, 1)
    cols = dx.view(n, 1, 1) + torch.arange(w, device=x.device).view(1, 1, w)
    idx = (rows * wp + cols).view(n, 1, h * w).expand(n, c, h * w)
    return padded.reshape(n, c, -1).gather(2, idx).view(n, c, h, w)


def crop(x: torch.Tensor, g: torch.Generator | None = None) -> torch.Tensor:
    """Zero-pad by max(1, size // 8) and take a random H x W window per sample."""
    return _shift(x, g, max(1, x.shape[-2] // 8), max(1, x.shape[-1] // 8), "constant")


def translate(x: torch.Tensor, g: torch.Generator | None = None) -> torch.Tensor:
    """Shift by up to 2 pixels each way, the border mirrored in (the speed runs' translation)."""
    h, w = x.shape[-2:]
    ph, pw = min(2, h - 1), min(2, w - 1)  # reflection needs a pad below the size
    return _shift(x, g, ph, pw, "reflect") if ph and pw else x


def flip(x: torch.Tensor, g: torch.Generator | None = None) -> torch.Tensor:
    """Horizontal flip with probability 0.5 per sample."""
    return torch.where(_coin(x, 0.5, g), x.flip(-1), x)


def _flip_bits(idx: torch.Tensor, seed: int) -> torch.Tensor:
    """One fixed pseudo-random bit per image index and seed (Knuth's multiplicative hash, top bit)."""
    h = (idx.long() * 2654435761 + (seed * 2246822519) % 2 ** 32) % 2 ** 32
    return (h >> 31).bool()


def flip_alt(x: torch.Tensor, g: torch.Generator | None = None, epoch: int = 1,
             idx: torch.Tensor | None = None) -> torch.Tensor:
    """Alternating flip: a random half mirrored in the first epoch, every image the other way round the next."""
    # airbench's scheme: every image is seen in both orientations over any two epochs running, where a
    # coin per epoch repeats an orientation a quarter of the time. Which half starts mirrored is fixed
    # by the image's index in the training set and the generator's seed; no random number is drawn.
    if idx is None:
        idx = torch.arange(x.shape[0], device=x.device)
    seed = g.initial_seed() if g is not None else torch.initial_seed()
    mirrored = _flip_bits(idx.to(x.device), seed) ^ bool((epoch - 1) % 2)
    return torch.where(mirrored.view(-1, 1, 1, 1), x.flip(-1), x)


def vflip(x: torch.Tensor, g: torch.Generator | None = None) -> torch.Tensor:
    """Vertical flip with probability 0.5 per sample."""
    return torch.where(_coin(x, 0.5, g), x.flip(-2), x)


def _warp(
    x: torch.Tensor,
    g: torch.Generator | None,
    degrees: float,
    translate: float = 0.0,
    scale: tuple[float, float] = (1.0, 1.0),
    shear: float = 0.0,
) -> torch.Tensor:
    """Random per-sample affine warp (rotate, shear, scale, then translate) with zero fill."""
    n, _, h, w = x.shape
    dev, f32 = x.device, torch.float32

    def draw(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=g, device=dev, dtype=f32)

    a = draw(-degrees, degrees) * (math.pi / 180)
    sh = torch.tan(draw(-shear, shear) * (math.pi / 180))
    s = draw(*scale)
    t = torch.stack([draw(-translate, translate), draw(-translate, translate)], dim=1) * 2
    cos, sin = torch.cos(a), torch.sin(a)
    # affine_grid wants the output->input map, so build the inverse of R @ Shear @ S directly
    # (inv = S^-1 @ Shear^-1 @ R^-1): cheaper than linalg.inv and it cannot fail.
    inv = torch.stack(
        [
            torch.stack([cos + sh * sin, sin - sh * cos], dim=1),
            torch.stack([-sin, cos], dim=1),
        ],
        dim=1,
    ) / s.view(n, 1, 1)
    # The matrix is meant in pixel space; normalised coordinates stretch x and y differently on
    # non-square images, so conjugate by the aspect ratio to keep rotations rigid.
    aspect = torch.tensor([w, h], device=dev, dtype=f32)
    inv = inv * aspect.view(1, 1, 2) / aspect.view(1, 2, 1)
    theta = torch.cat([inv, -(inv @ t.unsqueeze(-1))], dim=2).to(x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.clamp(0, 1)


def affine(x: torch.Tensor, g: torch.Generator | None = None) -> torch.Tensor:
    """Rotation +-15 deg, translation +-10 %, scale 0.9-1.1, shear +-10 deg."""
    return _warp(x, g, degrees=15, translate=0.1, scale=(0.9, 1.1), shear=10)


def rotate(x: torch.Tensor, g: torch.Generator | None = None) -> torch.Tensor:
    """Rotation +-30 deg."""
    return _warp(x, g, degrees=30)


def jitter(x: torch.Tensor, g: torch.Generator | None = None) -> torch.Tensor:
    """Brightness, contrast, saturation factors each in [0.6, 1.4] per sample (no hue)."""
    # Draw all factors up front so the random stream does not depend on C.
    b, c, s = (_uniform(x, 0.6, 1.4, g) for _ in range(3))
    # Clamp after every step, as torchvision does, so later steps see a valid image.
    x = (x * b).clamp(0, 1)
    mean = _gray(x).mean(dim=(1, 2, 3), keepdim=True)
    x = (mean + c * (x - mean)).clamp(0, 1)
    if x.shape[1] > 1:
        gray = _gray(x)
        x = (gray + s * (x - gray)).clamp(0, 1)
    return x


def sharpness(x: torch.Tensor, g: torch.Generator | None = None) -> torch.Tensor:
    """Blend with torchvision's smoothed copy, factor in [0.5, 2.0] (<1 blurs, >1 sharpens)."""
    factor = _uniform(x, 0.5, 2.0, g)
    if x.shape[-2] < 3 or x.shape[-1] < 3:
        return x
    # Kernel [[1,1,1],[1,5,1],[1,1,1]]/13 written as (3x3 box sum + 4 * centre) / 13 with shifted
    # slices: a 1-channel conv2d is ~30x slower on CPU than these few adds.
    rows = x[..., :-2, :] + x[..., 1:-1, :] + x[..., 2:, :]
    box = rows[..., :-2] + rows[..., 1:-1] + rows[..., 2:]
    centre = x[..., 1:-1, 1:-1]
    smooth = (box + 4 * centre) / 13
    # blurred + f * (x - blurred) == x + (1 - f) * (blurred - x); the one-pixel border stays
    # unsmoothed, as in torchvision (zero padding would darken it), so its delta is 0.
    delta = F.pad((1 - factor) * (smooth - centre), (1, 1, 1, 1))
    return (x + delta).clamp(0, 1)


def grayscale(x: torch.Tensor, g: torch.Generator | None = None) -> torch.Tensor:
    """With probability 0.2 per sample replace the image by its luma, keeping C channels."""
    mask = _coin(x, 0.2, g)
    if x.shape[1] == 1:
        return x
    return torch.where(mask, _gray(x).expand_as(x), x)


AUGMENTATIONS: dict[str, Callable[[torch.Tensor, torch.Generator | None], torch.Tensor]] = {
    "crop": crop,
    "flip": flip,
    "vflip": vflip,
    "affine": affine,
    "rotate": rotate,
    "jitter": jitter,
    "sharpness": sharpness,
    "grayscale": grayscale,
    "flip_alt": flip_alt,
    "translate": translate,
}
# Those that also take the epoch (1, 2, ...) and the images' indices in the training set.
EPOCH_AWARE = frozenset({"flip_alt"})


# Each augmentation in plain words, for menus and tables.
LABELS = {"crop": "random crop", "flip": "horizontal flip", "vflip": "vertical flip", "affine": "random affine",
          "rotate": "rotation", "jitter": "colour jitter", "sharpness": "sharpness", "grayscale": "grayscale",
          "flip_alt": "alternating flip", "translate": "2-pixel translation"}


def describe() -> list[dict]:
    """One row per augmentation: its plain name, the engine's name, and what it does (its docstring)."""
    return [{"augmentation": LABELS[name], "engine name": name,
             "what it does": (f.__doc__ or "").strip().splitlines()[0]} for name, f in AUGMENTATIONS.items()]


def mirror_safe(dataset: str) -> bool:
    """Whether a horizontally flipped image of this dataset still shows its class (the catalogue knows)."""
    return dataset not in MIRROR_CHANGES_CLASS


def suitable(dataset: str) -> tuple[str, ...]:
    """The augmentations to suggest for a dataset: crops always, flips where a mirror image keeps the class."""
    return ("crop", "flip") if mirror_safe(dataset) else ("crop",)


def _as_list(names: Sequence[str]) -> list[str]:
    # A bare string is a Sequence[str] too; iterating it would complain about 'c', 'r', ...
    return [names] if isinstance(names, str) else list(names)


def check_names(names: Sequence[str]) -> None:
    """Raise ValueError naming the first unknown augmentation and listing the valid ones."""
    for name in _as_list(names):
        if name not in AUGMENTATIONS:
            raise ValueError(
                f"unknown augmentation {name!r}; choose from {', '.join(AUGMENTATIONS)}"
            )


def augment(
    x: torch.Tensor, names: Sequence[str], generator: torch.Generator | None = None, epoch: int = 1,
    idx: torch.Tensor | None = None,
) -> torch.Tensor:
    """Apply the named augmentations in order, each with fresh per-sample randomness; `epoch` and `idx`
    (the images' indices in the training set; default 0..N-1) are for those in EPOCH_AWARE."""
    names = _as_list(names)
    check_names(names)
    for name in names:
        f = AUGMENTATIONS[name]
        x = f(x, generator, epoch, idx) if name in EPOCH_AWARE else f(x, generator)
    return x.clamp(0, 1) if names else x


def augmented_copies(image: np.ndarray, names: Sequence[str], n: int, seed: int) -> np.ndarray:
    """n augmented versions of one C×H×W uint8 image, N×C×H×W uint8: the copies go through augment
    as one batch of [0, 1] floats, as in training (nets.engine.train), with a seeded generator."""
    x = torch.from_numpy(np.ascontiguousarray(image)).float().div(255)
    batch = x.unsqueeze(0).repeat(int(n), 1, 1, 1)
    out = augment(batch, names, torch.Generator().manual_seed(int(seed)))
    return out.mul(255).round().clamp(0, 255).to(torch.uint8).numpy()

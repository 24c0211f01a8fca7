"""Playground datasets: TensorFlow Playground's 2-D generators (src/dataset.ts), plus k-class variants."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DOMAIN = 6.0  # points and heatmaps live on [-6, 6]², as in TF Playground
SAMPLES_CLASSIFY = 500  # TF Playground's NUM_SAMPLES_CLASSIFY
SAMPLES_REGRESS = 1200  # ... and NUM_SAMPLES_REGRESS
CLASSIFY = ("circle", "xor", "gauss", "spiral")
REGRESS = ("plane", "multigauss")
MULTICLASS = ("spiral-k", "blobs-k")  # ours: k arms / k blobs, labels 0..k-1 for softmax
DATASETS = CLASSIFY + REGRESS + MULTICLASS
TITLES = {"circle": "Circle", "xor": "Exclusive or", "gauss": "Two Gaussians", "spiral": "Spiral",
          "plane": "Plane (regression)", "multigauss": "Multi-Gaussian (regression)",
          "spiral-k": "Spiral, k arms", "blobs-k": "Gaussians, k blobs"}


@dataclass(frozen=True)
class DataConfig:
    dataset: str = "circle"
    noise: int = 0  # percent, 0–50 as on TF Playground's slider (the generators take noise / 100)
    train_percent: int = 50  # 10–90
    seed: int = 0
    classes: int = 3  # only for the k-class datasets

    def problem(self) -> str:
        return "regression" if self.dataset in REGRESS else "classification"

    def n_classes(self) -> int:
        """0 for regression, 2 for TF's ±1 labels, k for the softmax datasets."""
        if self.dataset in REGRESS:
            return 0
        return self.classes if self.dataset in MULTICLASS else 2


@dataclass
class Data:
    """Points (n, 2) and labels (n,): ±1 for two classes, a value in [-1, 1] for regression, 0..k-1."""
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    classes: int


def check(cfg: DataConfig) -> None:
    """Bad settings raise ValueError with a message fit for the page."""
    if cfg.dataset not in DATASETS:
        raise ValueError(f"Unknown dataset {cfg.dataset!r}; choose one of {', '.join(DATASETS)}.")
    if not 0 <= cfg.noise <= 50:
        raise ValueError("Noise is a percentage from 0 to 50.")
    if not 10 <= cfg.train_percent <= 90:
        raise ValueError("The training share is 10% to 90% of the points.")
    if cfg.dataset in MULTICLASS and not 3 <= cfg.classes <= 6:
        raise ValueError("The k-class datasets have 3 to 6 classes.")


def _normal(rng, mean, variance, n):
    return mean + np.sqrt(variance) * rng.standard_normal(n)


def two_gauss(rng, n, noise):
    variance = 0.5 + noise / 0.5 * 3.5  # TF's d3 scale: noise 0..0.5 -> variance 0.5..4
    half = n // 2
    pos = np.stack([_normal(rng, 2, variance, half), _normal(rng, 2, variance, half)], 1)
    neg = np.stack([_normal(rng, -2, variance, half), _normal(rng, -2, variance, half)], 1)
    return np.concatenate([pos, neg]), np.concatenate([np.ones(half), -np.ones(half)])


def _noisy(rng, n, noise, scale):
    return rng.uniform(-scale, scale, (n, 2)) * noise


def plane(rng, n, noise):
    xy = rng.uniform(-DOMAIN, DOMAIN, (n, 2))
    moved = xy + _noisy(rng, n, noise, DOMAIN)
    return xy, moved.sum(1) / 10  # TF's scale: x + y in [-10, 10] -> [-1, 1] (not clamped)


GAUSSIANS = ((-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1))


def multigauss(rng, n, noise):
    xy = rng.uniform(-DOMAIN, DOMAIN, (n, 2))
    moved = xy + _noisy(rng, n, noise, DOMAIN)
    best = np.zeros(n)
    for cx, cy, sign in GAUSSIANS:  # the bump largest in absolute value wins, as in TF
        d = np.hypot(moved[:, 0] - cx, moved[:, 1] - cy)
        label = sign * np.clip(1 - d / 2, 0, 1)
        best = np.where(np.abs(label) > np.abs(best), label, best)
    return xy, best


def spiral(rng, n, noise, arms=2):
    per = n // arms
    i = np.arange(per)
    r = i / per * 5
    pts, labels = [], []
    for arm in range(arms):
        t = 1.75 * i / per * 2 * np.pi + arm * 2 * np.pi / arms  # arms=2: deltaT 0 and π, as in TF
        x = r * np.sin(t) + rng.uniform(-1, 1, per) * noise
        y = r * np.cos(t) + rng.uniform(-1, 1, per) * noise
        pts.append(np.stack([x, y], 1))
        labels.append(np.full(per, (1.0 if arm == 0 else -1.0) if arms == 2 else float(arm)))
    return np.concatenate(pts), np.concatenate(labels)


def circle(rng, n, noise):
    radius = 5.0
    half = n // 2
    parts = []
    for lo, hi in ((0, radius * 0.5), (radius * 0.7, radius)):  # inside, then the ring outside
        r = rng.uniform(lo, hi, half)
        angle = rng.uniform(0, 2 * np.pi, half)
        parts.append(np.stack([r * np.sin(angle), r * np.cos(angle)], 1))
    xy = np.concatenate(parts)
    moved = xy + _noisy(rng, len(xy), noise, radius)  # the label of a noisy copy: noise flips labels
    return xy, np.where(np.hypot(moved[:, 0], moved[:, 1]) < radius * 0.5, 1.0, -1.0)


def xor(rng, n, noise):
    xy = rng.uniform(-5, 5, (n, 2))
    xy += np.where(xy > 0, 0.3, -0.3)  # TF's padding keeps points off the axes
    moved = xy + _noisy(rng, n, noise, 5)
    return xy, np.where(moved[:, 0] * moved[:, 1] >= 0, 1.0, -1.0)


def blobs(rng, n, noise, k):
    """k Gaussians on a circle of radius 3.5; the spread grows with noise like TF's two Gaussians."""
    per = n // k
    variance = 0.3 + noise / 0.5 * 2.0
    pts, labels = [], []
    for c in range(k):
        angle = 2 * np.pi * c / k
        cx, cy = 3.5 * np.cos(angle), 3.5 * np.sin(angle)
        pts.append(np.stack([_normal(rng, cx, variance, per), _normal(rng, cy, variance, per)], 1))
        labels.append(np.full(per, float(c)))
    return np.concatenate(pts), np.concatenate(labels)


def generate(cfg: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    """All points, before the split, in the generator's order."""
    check(cfg)
    rng = np.random.default_rng(cfg.seed)
    noise = cfg.noise / 100
    n = SAMPLES_REGRESS if cfg.dataset in REGRESS else SAMPLES_CLASSIFY
    make = {"circle": circle, "xor": xor, "gauss": two_gauss, "spiral": spiral, "plane": plane,
            "multigauss": multigauss}
    if cfg.dataset == "spiral-k":
        return spiral(rng, n, noise, cfg.classes)
    if cfg.dataset == "blobs-k":
        return blobs(rng, n, noise, cfg.classes)
    return make[cfg.dataset](rng, n, noise)


def make_data(cfg: DataConfig) -> Data:
    """Generate, shuffle and split as TF Playground does: the first train_percent% train."""
    xy, y = generate(cfg)
    order = np.random.default_rng(cfg.seed + 1).permutation(len(xy))
    xy, y = xy[order].astype(np.float32), y[order].astype(np.float32)
    cut = int(len(xy) * cfg.train_percent / 100)
    return Data(xy[:cut], y[:cut], xy[cut:], y[cut:], cfg.n_classes())

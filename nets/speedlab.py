"""The speed lab's experiment: the CIFAR-10 speed-run recipe with each trick a switch, an ablation as a group of runs, and their table.

The recipe is nets.engine.config.PRESETS["airbench94"] (CIFAR-10) or "airbench94-mini" (the bundled
Fashion-MNIST, CPU-sized). `TRICKS` says, for each trick, what turning it off changes in the configuration;
`recipe(preset, off)` is the recipe with those tricks off; `ablation(preset)` the full recipe and one run per
trick turned off. `table(rows)` compares finished runs with the full recipe: test accuracy, training time
(the epochs' training throughput, evaluation left out) and end-to-end time (the job's, from start to end: data loading, building,
compilation and evaluation included), each with its change.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from nets.engine.config import PRESETS, TrainConfig

PRESET_NAMES = {"airbench94-mini": "airbench94 on the bundled Fashion-MNIST (CPU-sized, offline)",
                "airbench94": "airbench94 on CIFAR-10 (a GPU's recipe: 94% in seconds)"}


@dataclass(frozen=True)
class Trick:
    label: str
    why: str
    off: dict              # the configuration's changes that turn it off


def _augment_without(name: str, instead: tuple[str, ...] = ()):
    return lambda cfg: tuple(a for a in cfg.augment if a != name) + instead


TRICKS: dict[str, Trick] = {
    "whiten": Trick("Frozen patch-whitening first layer",
                    "the first convolution is fixed to whiten 2×2 patches of the training images", {"whiten": False}),
    "dirac": Trick("Dirac initialisation", "each convolution starts as an identity on its first channels",
                   {"init": ""}),
    "flip_alt": Trick("Alternating flips", "each image mirrored on alternate epochs instead of at random",
                      {"augment": _augment_without("flip_alt", ("flip",))}),
    "translate": Trick("2-pixel translations", "random shifts of up to 2 pixels",
                       {"augment": _augment_without("translate")}),
    "label_smoothing": Trick("Label smoothing", "train against 0.8·one-hot + 0.2/K", {"label_smoothing": 0.0}),
    "lookahead": Trick("Lookahead", "slow weights follow the fast ones every 5 steps", {"lookahead": 0}),
    "triangle": Trick("Triangular learning rate", "a warm-up to the peak rate, then a fall, step by step",
                      {"schedule": "none"}),
    "tta": Trick("Test-time augmentation", "the test images also mirrored and shifted, predictions averaged",
                 {"tta": 0}),
    "bn_fp32": Trick("Batch norm in float32", "under mixed precision (a GPU) the batch norms stay in float32",
                     {"bn_fp32": False}),
}


def recipe(preset: str = "airbench94-mini", off: tuple[str, ...] = (), **changes) -> TrainConfig:
    """The preset with the named tricks turned off (and any other `changes`, e.g. epochs or seed)."""
    cfg = replace(PRESETS[preset], **changes)
    for name in off:
        cfg = replace(cfg, **{k: v(cfg) if callable(v) else v for k, v in TRICKS[name].off.items()})
    return replace(cfg, name=label(preset, off))


def label(preset: str, off: tuple[str, ...]) -> str:
    return preset + ("" if not off else " · without " + ", ".join(TRICKS[n].label.lower() for n in off))


def ablation(preset: str = "airbench94-mini", tricks: tuple[str, ...] = tuple(TRICKS), **changes) -> list[TrainConfig]:
    """The full recipe first, then one run per trick turned off (the others on)."""
    return [recipe(preset, (), **changes)] + [recipe(preset, (t,), **changes) for t in tricks]


@dataclass
class Row:
    """One finished run of the lab: its size, which tricks were off, and what it measured."""
    off: tuple[str, ...]
    accuracy: float
    train_s: float         # training only (training_seconds)
    total_s: float         # the job's end-to-end time
    size: str = ""         # what else was set ("5 epochs · 300 a class"): rows compare within a size


def training_seconds(epochs: list[dict], train_size: int) -> float:
    """Training only, from a job's EpochEnd records: each epoch's images over its training throughput (the
    engine's EpochEnd.seconds includes the evaluation, test-time augmentation too)."""
    return sum(train_size / e["images_per_s"] for e in epochs if e.get("images_per_s"))


def size_text(cfg: TrainConfig) -> str:
    return (f"{cfg.epochs} epoch{'s' if cfg.epochs != 1 else ''} · "
            + (f"{cfg.train_per_class} a class" if cfg.train_per_class else "all images"))


def table(rows: list[Row]) -> pd.DataFrame:
    """One line per run, grouped by size, the full recipe first; changes against that size's full recipe
    (the last one finished): accuracy in points, training time in seconds."""
    base = {r.size: r for r in rows if not r.off}
    out = []
    for r in sorted(rows, key=lambda r: (r.size, len(r.off), r.off)):
        b = base.get(r.size)
        out.append({"size": r.size,
                    "recipe": "full recipe" if not r.off else "without " + ", ".join(TRICKS[n].label.lower() for n in r.off),
                    "test accuracy": r.accuracy,
                    "Δ accuracy (points)": None if b is None else 100 * (r.accuracy - b.accuracy),
                    "training s": r.train_s, "Δ training s": None if b is None else r.train_s - b.train_s,
                    "end-to-end s": r.total_s})
    return pd.DataFrame(out)

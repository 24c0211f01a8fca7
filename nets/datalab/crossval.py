"""Out-of-sample probabilities by stratified k-fold cross-validation through the one engine, and the clean step.

`out_of_sample(cfg, data, k)` splits the training set into k folds (stratified: each class spread evenly;
seeded, so the same config gives the same folds), trains the config's own model, optimiser and epochs on
k − 1 folds with nets.engine.train.fit and scores the held-out fold: every image's probabilities come from
the one fold model that never trained on it. The validation and test splits are the data's own (a fold
model picks its best epoch on them as any run does; the held-out fold plays no part in training).
`clean(cfg, data, k)` then asks cleanlab which labels look wrong (nets.datalab.labelcheck.find) and
returns the training set without them, with the LabelCheck that says what was dropped and why.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from nets.datalab.labelcheck import LabelCheck, find
from nets.engine.config import ConfigError, TrainConfig
from nets.engine.data import ImageData
from nets.engine.evaluate import predict_logits
from nets.engine.events import EpochEnd
from nets.engine.start import initial_model
from nets.engine.train import fit
from nets.status import Status

FOLD_SALT = 0x4B464F4C  # "KFOL": the folds' generator is seeded from (cfg.seed, this), apart from the flips'
K_RANGE = (2, 10)


def folds(y: torch.Tensor, k: int, seed: int) -> list[torch.Tensor]:
    """k sorted index tensors that partition range(len(y)); each class is shuffled and dealt round the
    folds, starting where the previous class stopped, so fold sizes differ by at most one overall and
    each class's counts per fold by at most one."""
    if not K_RANGE[0] <= k <= K_RANGE[1]:
        raise ConfigError(f"Cross-validation needs between {K_RANGE[0]} and {K_RANGE[1]} folds, not {k}.")
    if len(y) < k:
        raise ConfigError(f"{k}-fold cross-validation needs at least {k} training images; there are {len(y)}.")
    gen = torch.Generator().manual_seed(int(seed) * 1_000_003 + FOLD_SALT)
    y = y.cpu()
    parts: list[list[torch.Tensor]] = [[] for _ in range(k)]
    start = 0
    for c in torch.unique(y).tolist():
        members = torch.nonzero(y == c).flatten()
        members = members[torch.randperm(len(members), generator=gen)]
        for i in range(k):
            parts[(start + i) % k].append(members[i::k])
        start = (start + len(members)) % k
    return [torch.sort(torch.cat(p))[0] if p else torch.zeros(0, dtype=torch.long) for p in parts]


def _subset(data: ImageData, idx: torch.Tensor) -> ImageData:
    """The data with only the training images at idx (validation, test, statistics unchanged)."""
    changes = {"x_train": data.x_train[idx], "y_train": data.y_train[idx]}
    true = getattr(data, "y_train_true", None)
    if true is not None:
        changes["y_train_true"] = true[idx]
    return dataclasses.replace(data, **changes)


def out_of_sample(cfg: TrainConfig, data: ImageData, k: int, on_progress=None, stop=None) -> np.ndarray:
    """N×C float32 probabilities for the N training images, each row from the fold model that did not
    train on that image. `on_progress(text, fraction)` hears "Cross-validation: fold 2 of 5" each epoch;
    `stop` (an Event or a callable, as fit takes) ends it early with StoppedEarly."""
    cfg = dataclasses.replace(cfg, stats_every=0)  # the folds need no layer statistics
    n, c = len(data.y_train), data.num_classes
    out = np.full((n, c), np.nan, dtype=np.float32)
    parts = folds(data.y_train, k, cfg.seed)
    for i, held in enumerate(parts):
        text = f"Cross-validation: fold {i + 1} of {k}"
        if on_progress:
            on_progress(text, i / k)
        train_idx = torch.cat([p for j, p in enumerate(parts) if j != i])
        fold_data = _subset(data, train_idx)

        def on_event(event, i=i, text=text):
            if on_progress and isinstance(event, EpochEnd):
                on_progress(text, (i + event.epoch / max(cfg.epochs, 1)) / k)

        result = fit(initial_model(cfg, fold_data), fold_data, cfg, on_event, stop)
        if result.finished.reason == Status.STOPPED:
            raise StoppedEarly(f"Cross-validation was stopped in fold {i + 1} of {k}.")
        logits = predict_logits(result.model, data.x_train[held], data.mean, data.std, scale=data.scale)
        out[held.numpy()] = torch.softmax(logits.double(), 1).float().cpu().numpy()
    if on_progress:
        on_progress(f"Cross-validation: {k} folds done", 1.0)
    return out


class StoppedEarly(RuntimeError):
    """The cross-validation was stopped before every fold was scored."""


def clean(cfg: TrainConfig, data: ImageData, k: int, on_progress=None, stop=None,
          index: torch.Tensor | None = None) -> tuple[ImageData, LabelCheck]:
    """The training set without the labels cleanlab flags on k-fold out-of-sample probabilities, and the
    LabelCheck. `cfg` is the run's config without its clean step; `index` says where each training image
    came from (e.g. Modified.keep: positions in the split's training set); by default 0..N-1."""
    probs = out_of_sample(cfg, data, k, on_progress, stop)
    labels = data.y_train.cpu().numpy().astype(np.int64)
    if on_progress:
        on_progress("Finding label issues (cleanlab)", 1.0)
    flagged = find(labels, probs)
    true = getattr(data, "y_train_true", None)
    where = np.arange(len(labels)) if index is None else torch.as_tensor(index).cpu().numpy().astype(np.int64)
    check = LabelCheck(labels, probs, flagged, None if true is None else true.cpu().numpy().astype(np.int64),
                       k, where)
    keep = torch.from_numpy(np.flatnonzero(~flagged))
    if len(keep) == 0:
        raise ConfigError("cleanlab flagged every training label, so nothing would be left to train on.")
    return _subset(data, keep), check

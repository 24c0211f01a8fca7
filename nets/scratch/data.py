"""Data for the NumPy network: any dataset of nets/engine/data.py as flattened images scaled to [0, 1],
its own training and test images pooled, then split 80% training, 10% validation, 10% test."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ScratchData:
    """Flattened images scaled to [0, 1] (float32, one per row) and int64 labels."""
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: list


def split_80_10_10(x, y, classes, seed: int = 0) -> ScratchData:
    order = np.random.default_rng(seed).permutation(len(x))
    n_train, n_val = int(0.8 * len(x)), int(0.1 * len(x))
    parts = np.split(order, [n_train, n_train + n_val])
    flat = x.reshape(len(x), -1)
    return ScratchData(*[arr for idx in parts for arr in (flat[idx].astype(np.float32) / 255, y[idx])],
                       classes=list(classes))


def load_scratch_data(name: str = "fashion-mnist", data_dir=None, seed: int = 0,
                      download: bool = False, on_progress=None) -> ScratchData:
    """Any dataset of nets/engine/data.py, its own train and test pooled, then split 80/10/10 with `seed`."""
    from nets.engine.data import load_dataset  # brings torch in: only when data is actually loaded
    d = load_dataset(name, data_dir, download=download, on_progress=on_progress)
    x = np.concatenate([d.x_train.numpy(), d.x_test.numpy()])
    y = np.concatenate([d.y_train.numpy(), d.y_test.numpy()]).astype(np.int64)
    return split_80_10_10(x, y, d.classes, seed)

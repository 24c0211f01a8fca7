"""The per-epoch features' 2-D layouts (each turned to match the one before) and kNN purity, computed once and stored.

    checkpoints/<run id>/layouts-<method>-<params key>.npz

One file per method and parameters, naming the epochs it was made from: when the run holds other
epochs' features (it was trained on), the file is stale and made again. An epoch whose features are
unreadable or not finite (a diverged epoch) is left out. Plain arrays, read with allow_pickle=False.
"""
from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from typing import Callable

import numpy as np

from nets.files import atomic_write_bytes
from nets.inspect.projection import align, full_params, knn_purity, project
from nets.runs.epoch_features import feature_epochs, load_epoch_features
from nets.runs.features_cache import PURITY_K, params_key
from nets.runs.folder import Run, index_put


@dataclass
class EpochLayouts:
    """Per kept epoch (in order): its subset's layout (N×2, aligned to the previous epoch's), labels,
    predictions and kNN purity."""
    epochs: list[int]
    xy: list[np.ndarray]
    labels: list[np.ndarray]
    predictions: list[np.ndarray]
    purity: list[float]


def layouts_path(run: Run, method: str, params: dict):
    return run.path / f"layouts-{method}-{params_key(params)}.npz"


def load_layouts(run: Run, method: str, **params) -> EpochLayouts | None:
    """The stored layouts of the run's current per-epoch features, or None (none yet, stale or damaged)."""
    params = full_params(method, **params)
    try:
        with np.load(layouts_path(run, method, params), allow_pickle=False) as z:
            if z["source"].tolist() != feature_epochs(run):
                return None
            kept = z["epochs"].astype(int).tolist()
            return EpochLayouts(kept, list(z["xy"].astype(np.float32)), list(z["labels"].astype(np.int64)),
                                list(z["predictions"].astype(np.int64)), z["purity"].astype(float).tolist())
    except (OSError, ValueError, KeyError):
        return None


def compute_layouts(run: Run, method: str, params: dict, stop: threading.Event | None = None,
                    on_epoch: Callable[[int, int], None] | None = None) -> EpochLayouts | None:
    """Each epoch's subset projected and aligned to the one before; None when `stop` was set."""
    out = EpochLayouts([], [], [], [], [])
    epochs = feature_epochs(run)
    for i, e in enumerate(epochs):
        if stop is not None and stop.is_set():
            return None
        if on_epoch is not None:
            on_epoch(i, len(epochs))
        z = load_epoch_features(run, e)
        if z is None or not np.isfinite(z["features"]).all():
            continue
        xy = project(z["features"], method, **params)
        if out.xy and out.xy[-1].shape == xy.shape:
            xy = align(out.xy[-1], xy)  # Procrustes: points move only as much as the features do
        out.epochs.append(e)
        out.xy.append(xy.astype(np.float32))
        out.labels.append(z["labels"])
        out.predictions.append(z["predictions"])
        out.purity.append(knn_purity(z["features"], z["labels"], PURITY_K))
    return out


def save_layouts(run: Run, method: str, params: dict, lay: EpochLayouts, source: list[int]) -> None:
    if lay.epochs and len({x.shape for x in lay.xy}) != 1:
        return  # the subset changed size between epochs: kept in memory only
    buf = io.BytesIO()
    empty = np.zeros((0, 0, 2), np.float32)
    np.savez(buf, source=np.array(source, np.int64), epochs=np.array(lay.epochs, np.int64),
             xy=np.stack(lay.xy) if lay.xy else empty, labels=np.stack(lay.labels) if lay.labels else empty[..., 0],
             predictions=np.stack(lay.predictions) if lay.predictions else empty[..., 0],
             purity=np.array(lay.purity, np.float64))
    atomic_write_bytes(layouts_path(run, method, params), buf.getvalue())
    index_put(run.path.parent, run.row())  # its size counts towards the run's disk use


def run_layouts(run: Run, method: str, stop: threading.Event | None = None,
                on_epoch: Callable[[int, int], None] | None = None, **params) -> EpochLayouts | None:
    """The stored layouts, or computed and stored; None when stopped."""
    params = full_params(method, **params)
    lay = load_layouts(run, method, **params)
    if lay is not None:
        return lay
    source = feature_epochs(run)
    lay = compute_layouts(run, method, params, stop, on_epoch)
    if lay is not None:
        save_layouts(run, method, params, lay, source)
    return lay

"""A run's penultimate features, projections and kNN purity, computed once per weights file and stored.

    checkpoints/<run id>/features-<weights stem>.npz                  every test image's features
    checkpoints/<run id>/projection-<weights stem>-<method>-<key>.npz one 2-D projection (or the purity)

Plain arrays read with allow_pickle=False, each naming the weights file it came from. New best
weights have a new file name, so stale files are never used, and they are deleted when the new
ones are written. Features are stored as float16 (half the disk; row order, neighbours and
projections do not notice) and always returned as float32 read back from that float16, so the
first answer and every later one agree exactly. (features-eNNNN.npz, the per-epoch subset, is
nets.runs.epoch_features'.)
"""
from __future__ import annotations

import hashlib
import io
import json
import re
import threading
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from nets.engine.data import ImageData, load_dataset
from nets.files import atomic_write_bytes
from nets.inspect.features import Features, features_of
from nets.inspect.projection import full_params, knn_purity, project
from nets.runs.compare import check_test_images
from nets.runs.evals import stored_arrays
from nets.runs.folder import Run, index_put, load_model

FEATURES_PREFIX, PROJECTION_PREFIX = "features-model", "projection-model"
PURITY_K = 10   # neighbours of the kNN purity

# One computation at a time in a process (the projector's jobs, nets.projector_work, run in worker processes,
# or threads on a laptop): whoever waits finds the first one's stored result (features of a ResNet-18's
# 10,000 test images take minutes on a CPU, a t-SNE of them over a minute). Re-entrant: a projection
# computes features.
_COMPUTING = threading.RLock()


def _stem(run: Run) -> str:
    return Path(run.weights_file).stem  # "model" or "model-e0003-1a2b3c"


def features_path(run: Run) -> Path:
    return run.path / f"features-{_stem(run)}.npz"


def projection_path(run: Run, method: str, params: dict) -> Path:
    return run.path / f"projection-{_stem(run)}-{method}-{params_key(params)}.npz"


def params_key(params: dict) -> str:
    text = json.dumps({k: params[k] for k in sorted(params)}, separators=(",", ":"), default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def _save(run: Run, path: Path, prefix: str, arrays: dict) -> None:
    buf = io.BytesIO()
    np.savez(buf, weights=np.str_(run.weights_file), **arrays)
    atomic_write_bytes(path, buf.getvalue())
    for old in run.path.glob(f"{prefix}*.npz"):  # those of earlier weights go
        if _stale(old.name, run):
            old.unlink(missing_ok=True)
    index_put(run.path.parent, run.row())  # their size counts towards the run's disk use


def _stale(name: str, run: Run) -> bool:
    """Whether a features-model…/projection-model… file belongs to other weights than the current."""
    stem = _stem(run)
    if name.startswith("features-"):
        return name != f"features-{stem}.npz"
    rest = name.removeprefix(f"projection-{stem}-")
    return rest == name or not re.fullmatch(r"[a-z]+-[0-9a-f]{10}\.npz", rest)


def load_features(run: Run) -> Features | None:
    """The stored features of the run's current weights, or None."""
    z = stored_arrays(features_path(run), run)
    if z is None:
        return None
    try:
        return Features(x=z["x"].astype(np.float32), labels=z["labels"].astype(np.int64),
                        predictions=z["predictions"].astype(np.int64), top5=z["top5"].astype(np.int64),
                        top5_p=z["top5_p"].astype(np.float32), classes=[str(c) for c in z["classes"]],
                        weights=run.weights_file)
    except KeyError:
        return None


def _rounded(f: Features, run: Run) -> Features:
    return Features(x=f.x.astype(np.float16).astype(np.float32), labels=f.labels, predictions=f.predictions,
                    top5=f.top5, top5_p=f.top5_p.astype(np.float16).astype(np.float32), classes=f.classes,
                    weights=run.weights_file)


def save_features(run: Run, f: Features) -> None:
    small = np.int16 if len(f.classes) < 2**15 else np.int64
    _save(run, features_path(run), FEATURES_PREFIX,
          dict(x=f.x.astype(np.float16), labels=f.labels.astype(small), predictions=f.predictions.astype(small),
               top5=f.top5.astype(small), top5_p=f.top5_p.astype(np.float16), classes=np.array(f.classes)))


def run_data(run: Run, data_dir: str | Path | None = None) -> ImageData:
    cfg = run.config
    return load_dataset(cfg.dataset, data_dir, download=True, folder=cfg.folder or None,
                        image_size=cfg.image_size)


def check_run_data(run: Run, data: ImageData) -> None:
    """CheckpointError when the run's model cannot take this dataset's test images."""
    check_test_images(run, data, "it has no features of its own to project")


def compute_features(run: Run, data: ImageData, model: torch.nn.Module | None = None, *,
                     batch_size: int = 500, device=None) -> Features:
    """Every test image's features under the run's best weights (not stored)."""
    check_run_data(run, data)
    model = model if model is not None else load_model(run)
    info = run.info
    return features_of(model, data.x_test, data.y_test, info.get("mean") or data.mean, info.get("std") or data.std,
                       info.get("classes") or data.classes, scale=info.get("scale", 255.0),
                       batch_size=batch_size, device=device, weights=run.weights_file)


def run_features(run: Run, data_dir: str | Path | None = None, *, data: ImageData | None = None,
                 model: torch.nn.Module | None = None, batch_size: int = 500, device=None) -> Features:
    """The stored features of every test image under the run's current weights, or computed once
    and stored. `data` (the run's dataset) and `model` (its best model) save loading them again."""
    f = load_features(run)
    if f is not None:
        return f
    with _COMPUTING:
        f = load_features(run)  # stored while this call waited
        if f is None:
            f = compute_features(run, data if data is not None else run_data(run, data_dir), model,
                                 batch_size=batch_size, device=device)
            save_features(run, f)
            f = _rounded(f, run)
    return f


def _stored_array(run: Run, method: str, params: dict, compute: Callable[[], np.ndarray]) -> np.ndarray:
    path = projection_path(run, method, params)
    z = stored_arrays(path, run)
    if z is not None and "y" in z:
        return z["y"]
    with _COMPUTING:
        z = stored_arrays(path, run)  # stored while this call waited
        if z is not None and "y" in z:
            return z["y"]
        y = np.asarray(compute())
        _save(run, path, PROJECTION_PREFIX, dict(y=y, params=np.str_(json.dumps(params, sort_keys=True, default=str))))
    return y


def load_projection(run: Run, method: str, **params) -> np.ndarray | None:
    """The stored N×2 projection of the run's current weights, or None."""
    z = stored_arrays(projection_path(run, method, full_params(method, **params)), run)
    return None if z is None or "y" not in z else z["y"].astype(np.float32)


def load_purity(run: Run, k: int = PURITY_K) -> float | None:
    """The stored kNN purity of the run's current weights, or None."""
    z = stored_arrays(projection_path(run, "purity", {"k": k}), run)
    return None if z is None or "y" not in z else float(z["y"][0])


def missing(run: Run, method: str, **params) -> list[str]:
    """What the projector needs that is not stored yet: of "features", "purity", "projection"."""
    if load_features(run) is None:
        return ["features", "purity", "projection"]
    return ([] if load_purity(run) is not None else ["purity"]) + \
        ([] if load_projection(run, method, **params) is not None else ["projection"])


def run_projection(run: Run, method: str, features: Features | None = None, data_dir: str | Path | None = None,
                   **params) -> np.ndarray:
    """N×2 float32: the run's features projected by `method` ("pca", "umap", "tsne") with `params`
    (e.g. n_neighbors, min_dist, seed; perplexity, seed), stored per (weights file, method, params)."""
    params = full_params(method, **params)

    def compute():
        f = features if features is not None else run_features(run, data_dir)
        return project(f.x, method, **params)
    return _stored_array(run, method, params, compute).astype(np.float32)


def run_purity(run: Run, features: Features | None = None, data_dir: str | Path | None = None,
               k: int = PURITY_K) -> float:
    """The kNN purity of the run's features (nets.inspect.projection.knn_purity), stored like a projection."""
    def compute():
        f = features if features is not None else run_features(run, data_dir)
        return np.array([knn_purity(f.x, f.labels, k)])
    return float(_stored_array(run, "purity", {"k": k}, compute)[0])

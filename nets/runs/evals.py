"""A run's test-set evaluation, computed once and stored next to the weights it belongs to.

`evaluation.npz` (plain arrays, read with allow_pickle=False) names the weights file it was
computed from; new best weights have a new file name, so a stale evaluation is never used.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from nets.engine.evaluate import Evaluation
from nets.files import atomic_write_bytes
from nets.runs.folder import Run, index_put

EVAL_FILE = "evaluation.npz"


def stored_arrays(path: Path, run: Run) -> dict | None:
    """The arrays of a file derived from the run's current weights (it names them), or None: none yet, made
    from older weights, or damaged (then it is computed again). The feature cache reads its files so too."""
    if not run.has_model or not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["weights"]) != run.weights_file:
                return None
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, KeyError):
        return None


def load_evaluation(run: Run) -> Evaluation | None:
    """The stored evaluation of the run's current weights, or None (none yet, stale or unreadable)."""
    z = stored_arrays(run.path / EVAL_FILE, run)
    try:
        return None if z is None else Evaluation(
            float(z["loss"]), float(z["accuracy"]), torch.from_numpy(z["labels"].astype(np.int64)),
            torch.from_numpy(z["predictions"].astype(np.int64)),
            torch.from_numpy(z["probabilities"].astype(np.float32)), [str(c) for c in z["classes"]])
    except (KeyError, ValueError):
        return None  # a damaged file is computed again


def save_evaluation(run: Run, ev: Evaluation) -> None:
    buf = io.BytesIO()
    np.savez_compressed(buf, weights=np.str_(run.weights_file), loss=np.float64(ev.loss),
                        accuracy=np.float64(ev.accuracy), labels=ev.labels.numpy().astype(np.int16 if len(ev.classes) < 2**15 else np.int64),
                        predictions=ev.predictions.numpy().astype(np.int16 if len(ev.classes) < 2**15 else np.int64),
                        probabilities=ev.probabilities.numpy().astype(np.float32),
                        classes=np.array([str(c) for c in ev.classes]))
    atomic_write_bytes(run.path / EVAL_FILE, buf.getvalue())
    index_put(run.path.parent, run.row())  # its size counts towards the run's disk use


def stored_evaluation(run: Run, compute: Callable[[], Evaluation]) -> Evaluation:
    """The stored evaluation, or `compute()` once and store it."""
    ev = load_evaluation(run)
    if ev is None:
        ev = compute()
        save_evaluation(run, ev)
    return ev

"""Finding bad labels: cleanlab's flags on out-of-sample probabilities, scored against injected flips, kept in label-issues.npz.

`find(labels, probs)` is cleanlab.filter.find_label_issues with its default filter (prune_by_noise_rate),
one process (the app's machines are small and jobs run in threads). `LabelCheck` holds what the page shows:
the given label, the suggested one (argmax of the probabilities), the self-confidence (the probability of
the given label), the flags, the true labels when the app flipped them itself (None on a user's folder:
nobody knows the truth there) and where each image sits in the training set. `precision_recall` scores
the flags against the truth; `save`/`load` keep a check in the run folder (allow_pickle=False).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nets.engine.data import DatasetError
from nets.files import atomic_write_bytes

FILE = "label-issues.npz"
INSTALL = "pip install cleanlab"


@dataclass
class LabelCheck:
    labels: np.ndarray          # N int64: the labels the model was given
    probs: np.ndarray           # N×C float32: out-of-sample probabilities (each from a model that never saw it)
    flagged: np.ndarray         # N bool: cleanlab's flags
    true: np.ndarray | None     # N int64: the true labels when the app flipped some itself, else None
    k: int                      # the number of folds
    index: np.ndarray           # N int64: where each image sits in the training set (see crossval.clean)

    @property
    def suggested(self) -> np.ndarray:
        return self.probs.argmax(1)

    @property
    def self_confidence(self) -> np.ndarray:
        """The probability each image's given label gets (low: the label looks wrong)."""
        return self.probs[np.arange(len(self.labels)), self.labels]

    @property
    def flipped(self) -> np.ndarray | None:
        """Which labels were truly wrong (None when nobody knows)."""
        return None if self.true is None else self.labels != self.true

    def ranked(self) -> np.ndarray:
        """The flagged positions, least self-confident first (the likeliest wrong labels)."""
        where = np.flatnonzero(self.flagged)
        return where[np.argsort(self.self_confidence[where], kind="stable")]

    def precision_recall(self) -> tuple[float, float] | None:
        flipped = self.flipped
        return None if flipped is None else precision_recall(self.flagged, flipped)

    def summary(self) -> str:
        n, f = len(self.labels), int(self.flagged.sum())
        text = f"{f:,} of {n:,} labels flagged ({f / max(n, 1):.1%}) by {self.k}-fold cross-validation"
        pr = self.precision_recall()
        if pr is None:
            return text + "; nobody knows which labels are truly wrong here, so the flags cannot be scored."
        wrong = int(self.flipped.sum())
        return (text + f"; {wrong:,} labels were flipped: precision {pr[0]:.0%} (flags that are real flips), "
                f"recall {pr[1]:.0%} (flips that were found).")


def find(labels, probs) -> np.ndarray:
    """cleanlab's find_label_issues (default filter_by) as a bool mask; a clear error without cleanlab."""
    try:
        from cleanlab.filter import find_label_issues
    except ImportError as e:
        raise DatasetError(f"Finding label issues needs cleanlab, which is not installed: {INSTALL}.",
                           f"{type(e).__name__}: {e}") from None
    labels, probs = np.asarray(labels, dtype=np.int64), np.asarray(probs, dtype=np.float64)
    if len(labels) == 0:
        return np.zeros(0, dtype=bool)
    probs = probs / probs.sum(1, keepdims=True)
    return np.asarray(find_label_issues(labels=labels, pred_probs=probs, n_jobs=1), dtype=bool)


def precision_recall(flagged, truly_flipped) -> tuple[float, float]:
    """Precision: the share of flags that are real flips; recall: the share of real flips flagged.
    Empty cases follow "no wrong answer was given": nothing flagged → precision 1.0 (no flag is wrong);
    nothing flipped → recall 1.0 (nothing was missed). So a clean set with no flags scores (1.0, 1.0),
    and flags on a clean set score precision 0.0."""
    flagged, flipped = np.asarray(flagged, dtype=bool), np.asarray(truly_flipped, dtype=bool)
    if flagged.shape != flipped.shape:
        raise ValueError(f"flagged has {flagged.shape[0] if flagged.ndim else 0} entries, "
                         f"truly_flipped {flipped.shape[0] if flipped.ndim else 0}: they must match.")
    hits = int((flagged & flipped).sum())
    n_flagged, n_flipped = int(flagged.sum()), int(flipped.sum())
    return (hits / n_flagged if n_flagged else 1.0, hits / n_flipped if n_flipped else 1.0)


def _path(run_or_path) -> Path:
    path = Path(getattr(run_or_path, "path", run_or_path))
    return path / FILE if path.suffix != ".npz" else path


def save(run_or_path, check: LabelCheck) -> Path:
    """Write the check as label-issues.npz in a run folder (or at a .npz path), atomically."""
    path = _path(run_or_path)
    arrays = {"labels": check.labels.astype(np.int64), "probs": check.probs.astype(np.float32),
              "flagged": check.flagged.astype(bool), "k": np.int64(check.k),
              "index": check.index.astype(np.int64), "has_true": np.bool_(check.true is not None),
              "true": (check.true if check.true is not None else np.zeros(0)).astype(np.int64)}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())
    return path


def load(run_or_path) -> LabelCheck | None:
    """The check saved in a run folder (or at a .npz path); None when there is none. A file that is not
    a check is a DatasetError in words."""
    path = _path(run_or_path)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            labels, probs, flagged = z["labels"].astype(np.int64), z["probs"].astype(np.float32), z["flagged"]
            true = z["true"].astype(np.int64) if bool(z["has_true"]) else None
            check = LabelCheck(labels, probs, flagged.astype(bool), true, int(z["k"]), z["index"].astype(np.int64))
    except (OSError, KeyError, ValueError) as e:
        raise DatasetError(f"{path.name} could not be read: it is not a saved label check.",
                           f"{path}: {type(e).__name__}: {e}") from None
    n = len(check.labels)
    if (probs.ndim != 2 or len(probs) != n or len(check.flagged) != n or len(check.index) != n
            or (true is not None and len(true) != n)):
        raise DatasetError(f"{path.name} could not be read: its arrays have different lengths.", str(path))
    return check

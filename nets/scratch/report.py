"""What a lab run shows, for the From-scratch page: evidence, the lessons it calls for, tables and
chart data. Plain functions of a network or of a job's `LabView` (see nets/scratch/lab.py)."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from nets.plots import epochs_frame, fixed_colors
from nets.scratch.network import Network

COMPARED = ("relu", "tanh", "sigmoid", "linear")
COMPARE_COLORS = fixed_colors(COMPARED)  # each compared activation's one colour, on every chart
NUMPY, TORCH = "NumPy", "PyTorch"
LESSONS = {  # key → heading in assets/scratch.md
    "diverged": "Diverged", "zero-init": "Zero initialisation", "vanishing": "Vanishing gradients",
    "linear": "Linear layers collapse", "twin": "The same network in PyTorch",
}


def identical_units(net: Network, rtol: float = 1e-4) -> list[bool]:
    """Per hidden layer: do all its units have the same incoming weights and bias? Up to rounding:
    BLAS sums rows in different orders, so "identical" units differ in the last bits."""
    out = []
    for W, b in zip(net.W[:-1], net.b[:-1]):
        Wb = np.column_stack([W, b]).astype(np.float64)
        out.append(bool(np.abs(Wb - Wb[0]).max() <= rtol * np.abs(Wb).max()))
    return out


def collapse_linear(net: Network) -> tuple[np.ndarray, np.ndarray]:
    """With linear hidden layers, z^L = X W.T + b for one W and b: the products of the layers'."""
    W, b = net.W[0].astype(np.float64), net.b[0].astype(np.float64)
    for W_l, b_l in zip(net.W[1:], net.b[1:]):
        W, b = W_l @ W, W_l @ b + b_l
    return W, b


def chance(num_classes: int) -> float:
    return 1 / num_classes


def at_chance(records: list[dict], num_classes: int) -> bool:
    """Validation accuracy never clearly above guessing (less than twice chance)."""
    return bool(records) and max(r["val_acc"] for r in records) < 2 * chance(num_classes)


def twin_gap(runs: dict) -> float | None:
    """Largest gap between the NumPy and PyTorch mean training losses over the common epochs."""
    a, b = runs.get(NUMPY, []), runs.get(TORCH, [])
    n = min(len(a), len(b))
    return max(abs(a[i]["train_loss"] - b[i]["train_loss"]) for i in range(n)) if n else None


def lesson_sections(markdown: str) -> tuple[str, dict[str, str]]:
    """The text before the first '## ' heading, and each section's body by heading."""
    parts = re.split(r"^## +(.+)$", markdown, flags=re.M)
    return parts[0].strip(), {parts[i].strip(): parts[i + 1].strip() for i in range(1, len(parts), 2)}


# ------------------------------------------------------------------ what to explain, tables, charts
def label_of(activation: str, s) -> str:
    return activation if s.mode == "compare" else NUMPY


def diverged(view) -> dict[str, int]:
    """The runs whose loss overflowed, with the epoch it happened in."""
    return {label: records[-1]["epoch"] for label, records in view.runs.items()
            if records and records[-1].get("diverged")}


def lessons(view) -> list[str]:
    """Which explanations this run calls for, in the order they are shown."""
    s, keys = view.settings, []
    acts = COMPARED if s.mode == "compare" else (s.activation,)
    if diverged(view):
        keys.append("diverged")
    if s.init == "zero":
        keys.append("zero-init")
    n = len(view.classes) or 10
    if s.init != "zero" and any(a == "sigmoid" and at_chance(view.runs.get(label_of(a, s), []), n) for a in acts):
        keys.append("vanishing")
    if "linear" in acts:
        keys.append("linear")
    if TORCH in view.runs:
        keys.append("twin")
    return keys


def lessons_before_training(init: str, activation: str, shown=()) -> list[str]:
    """The lessons a choice calls for before any run (zero init, linear layers), less those in `shown`:
    a finished run's lessons, which say the same with their evidence."""
    chosen = {"zero-init": init == "zero", "linear": activation == "linear"}
    return [key for key, on in chosen.items() if on and key not in shown]


def curves(view, kind: str) -> pd.DataFrame:
    """Long-format loss or accuracy by epoch for every run of the job (nets.plots.by_epoch draws it)."""
    frames = [epochs_frame(records, kind, label) for label, records in view.runs.items()]
    return pd.concat(frames, ignore_index=True) if frames else epochs_frame([], kind)


def results_table(view) -> pd.DataFrame:
    rows = [{"network": label, "epochs": r["epochs"], "train acc": r.get("train_acc"),
             "validation acc": r.get("val_acc"), "test acc": r["test_acc"]} for label, r in view.results.items()]
    return pd.DataFrame(rows, columns=["network", "epochs", "train acc", "validation acc", "test acc"])


def speed_line(view) -> str | None:
    """Mean seconds per epoch of the NumPy network and its twin (evaluation included)."""
    a, b = view.runs.get(NUMPY, []), view.runs.get(TORCH, [])
    if not a or not b:
        return None
    return (f"NumPy {sum(r['seconds'] for r in a) / len(a):.2f} s/epoch, "
            f"PyTorch {sum(r['seconds'] for r in b) / len(b):.2f} s/epoch")


def progress(view) -> tuple[float, str]:
    """Fraction done and a status line. The twin's epochs do not count (they shadow the NumPy ones);
    a diverged run counts as done, since it stops early."""
    s = view.settings
    total = s.epochs * (len(COMPARED) if s.mode == "compare" else 1)
    gone = diverged(view)
    done = sum(s.epochs if label in gone else len(records) for label, records in view.runs.items() if label != TORCH)
    if view.active:
        now = f" · now {list(view.runs)[-1]}" if s.mode == "compare" and view.runs else ""
        return min(done / total, 1.0), f"running · epoch {done}/{total}{now}"
    trained = sum(len(records) for label, records in view.runs.items() if label != TORCH)
    return min(done / total, 1.0), (f"{view.status} · {trained} epoch{'s' * (trained != 1)} trained"
                                    + (f" · diverged: {', '.join(gone)}" if gone else ""))


def evidence_text(view, key: str) -> str:
    """What this run measured that the lesson `key` talks about, in a sentence."""
    if key == "zero-init":
        found = [f"{label}: " + ", ".join(f"layer {i + 1} {'identical' if same else 'not identical'}"
                                          for i, same in enumerate(e["identical units"]))
                 for label, e in view.evidence.items() if "identical units" in e]
        return ("Measured after training — units within each hidden layer: " + "; ".join(found) + ".") if found else ""
    if key == "diverged":
        return "Diverged: " + ", ".join(f"{label} in epoch {epoch}" for label, epoch in diverged(view).items()) + "."
    if key == "linear":
        gaps = [f"{label} {e['one-layer gap']:.2g}" for label, e in view.evidence.items()
                if np.isfinite(e.get("one-layer gap", np.nan))]
        return ("Largest difference between the network's outputs and the single collapsed layer's: "
                + "; ".join(gaps) + " (float32 rounding).") if gaps else ""
    if key == "twin":
        gap, speed = twin_gap(view.runs), speed_line(view)
        if gap is None:
            return ""
        return f"Largest gap between the two training-loss curves: **{gap:.2g}**." + (f" {speed}." if speed else "")
    if key == "vanishing":
        n = len(view.classes) or 10
        return f"Chance is {chance(n):.0%} with {n} classes."
    return ""

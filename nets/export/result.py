"""What every export returns (a named file of bytes), the one error it raises (a message for the page), the weights."""
from __future__ import annotations

import hashlib
import importlib.util
import re
from dataclasses import dataclass

from nets.files import CheckpointError, load_state_dict
from nets.runs.folder import Run, no_weights

EXTRAS_FILE = "requirements-export.txt"  # the optional packages some exports need


class ExportError(RuntimeError):
    """This run cannot be exported in this format; the message says why and what can be exported instead."""


@dataclass(frozen=True)
class Exported:
    file_name: str     # what the browser saves it as
    data: bytes
    mime: str

    @property
    def size(self) -> int:
        return len(self.data)


def unexportable(run: Run) -> str:
    """Why no export that needs the network can take this run ("" when one can): it has no weights."""
    return "" if run.has_model else f"{no_weights()} Export its metrics (CSV) instead."


def saved_weights(run: Run) -> dict:
    """The run's best weights (a state dict) for an export, or ExportError saying why there are none."""
    if why := unexportable(run):
        raise ExportError(why)
    try:
        return load_state_dict(run.weights_path)
    except CheckpointError as e:
        raise ExportError(f"The run's weights cannot be read: {e}") from e


MAX_STEM = 120  # a run id (up to 83 characters) with a prefix like 'nnlab-tensorboard-' fits whole


def file_stem(name: str, fallback: str = "run", limit: int = MAX_STEM) -> str:
    """A run's name as a safe file-name stem: letters, digits, '.', '_' and '-' only. A longer one is
    cut at a word boundary (never mid-word) and ends with a hash of the whole, so two long names that
    differ only at their ends still get different stems."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", str(name)).strip("-.")
    if len(stem) > limit:
        tag = hashlib.sha1(stem.encode()).hexdigest()[:8]
        head = stem[:limit - len(tag)]
        cut = max(head.rfind(c) for c in "-_.")
        stem = f"{(head[:cut] if cut > 0 else head[:-1]).rstrip('-._')}-{tag}"
    return stem or fallback


def missing_packages(*modules: str) -> list[str]:
    """The modules of `modules` that are not installed (looked up without importing them)."""
    return [m for m in modules if importlib.util.find_spec(m) is None]


def install_hint(modules: list[str], what: str) -> str:
    """'<what> needs onnx and onnxruntime: pip install -r requirements-export.txt'."""
    return f"{what} needs {' and '.join(modules)}: pip install -r {EXTRAS_FILE}"


def missing(what: str, *modules: str) -> str:
    """'' when every optional module is installed; otherwise the sentence a page shows instead of
    the button, saying what to install."""
    absent = missing_packages(*modules)
    return install_hint(absent, what) if absent else ""


def require(what: str, *modules: str) -> None:
    """Raise ExportError with that sentence when an optional module is missing."""
    if message := missing(what, *modules):
        raise ExportError(message)

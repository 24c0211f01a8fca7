"""Files that survive a kill: atomic writes, SQLite write transactions, and weights read without
unpickling anything.

Every file is written to a temporary name in its folder, flushed to disk and renamed into place,
so a process killed mid-write leaves the previous complete file (and a `.*.tmp` that start-up
recovery removes), never half of one.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

TMP_SUFFIX = ".tmp"


class CheckpointError(RuntimeError):
    """A run folder or weights file is missing, corrupt or belongs to something else."""


def atomic_write_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes files private; runs are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: dict) -> None:
    atomic_write_bytes(path, json.dumps(obj, indent=1, default=str).encode())


@contextmanager
def in_transaction(db):
    """`with in_transaction(db):` one SQLite write transaction, taken at once (BEGIN IMMEDIATE, so two
    processes never deadlock upgrading a read), committed, or rolled back on any exception. A
    context, not a callback: the caller's code runs in the caller."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def save_weights(path: Path, state_dict: dict) -> None:
    buf = io.BytesIO()
    torch.save(state_dict, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_state_dict(path: Path | str) -> dict:
    """Read a weights file without unpickling arbitrary objects; clear errors for bad files."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"Weights file {path} does not exist.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path} is not a readable PyTorch weights file ({first[:200]}).") from e
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path} does not hold a state dict (a mapping of names to tensors).")
    return state


def non_finite(state: dict) -> list[str]:
    """The names of the floating-point tensors in a state dict that hold NaN or ±inf."""
    return [k for k, v in state.items()
            if isinstance(v, torch.Tensor) and v.is_floating_point() and not bool(torch.isfinite(v).all())]


def load_into(model: nn.Module, state: dict, source: str = "the weights file") -> nn.Module:
    """Load a state dict, naming the missing, unexpected and mis-shaped keys when it does not fit."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k} {tuple(state[k].shape)} ≠ {tuple(own[k].shape)}" for k in own
              if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or shapes:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes)):
            if keys:
                parts.append(f"{label}: {', '.join(keys[:5])}" + (f" and {len(keys) - 5} more" if len(keys) > 5 else ""))
        raise CheckpointError(f"{source} does not fit this model — " + "; ".join(parts) + ".")
    model.load_state_dict(state)
    return model

"""Saved runs: one folder per run under `checkpoints/`.

    checkpoints/<run id>/run.json   config, classes, normalisation, per-epoch metrics, timing, versions
    checkpoints/<run id>/model.pt   the best weights (a state dict, loaded with weights_only=True)

Every file is written to a temporary name and renamed into place, so a process killed mid-write
leaves the previous complete file, never half of one; listing skips (and reports) folders it
cannot read instead of failing.
"""
from __future__ import annotations

import json
import os
import platform
import re
import shutil
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from .config import TrainConfig
from .models import ModelError, build_model

RUN_FILE, MODEL_FILE = "run.json", "model.pt"
DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "checkpoints"
_ID_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class CheckpointError(RuntimeError):
    """A run folder or weights file is missing, corrupt or belongs to something else."""


@dataclass
class Run:
    id: str
    path: Path
    info: dict = field(repr=False)

    @property
    def name(self) -> str:
        return self.info.get("name") or self.id

    @property
    def config(self) -> TrainConfig:
        return TrainConfig.from_dict(self.info.get("config", {}))

    @property
    def has_model(self) -> bool:
        return (self.path / MODEL_FILE).exists()


def versions() -> dict:
    import numpy
    import torchvision
    return {"python": platform.python_version(), "torch": torch.__version__,
            "torchvision": torchvision.__version__, "numpy": numpy.__version__}


def atomic_write_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
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


def save_weights(path: Path, state_dict: dict) -> None:
    import io
    buf = io.BytesIO()
    torch.save(state_dict, buf)
    atomic_write_bytes(path, buf.getvalue())


def check_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not _ID_OK.match(run_id) or ".." in run_id:
        raise CheckpointError(f"'{run_id}' is not a valid run id (letters, digits, '.', '_' and '-').")
    return run_id


def new_run_id(cfg: TrainConfig) -> str:
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", cfg.label())[:60].strip("-") or "run"
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{stem}-{uuid.uuid4().hex[:6]}"


def create_run(root: Path | str, cfg: TrainConfig, info: dict, run_id: str | None = None) -> Run:
    """Make the run folder and its first run.json (status 'running')."""
    root = Path(root)
    run_id = check_run_id(run_id or new_run_id(cfg))
    path = root / run_id
    root.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir()
    except FileExistsError:
        raise CheckpointError(f"A run '{run_id}' already exists in {root}; choose another id or delete it.") from None
    info = {"id": run_id, "name": cfg.label(), "status": "running", "config": cfg.to_dict(),
            "created": time.strftime("%Y-%m-%d %H:%M:%S"), "versions": versions(), "history": [],
            "pid": os.getpid(), "host": platform.node(), **info}
    atomic_write_json(path / RUN_FILE, info)
    return Run(run_id, path, info)


def update_run(run: Run, **changes) -> None:
    run.info.update(changes)
    atomic_write_json(run.path / RUN_FILE, run.info)


def read_run(path: Path) -> Run:
    try:
        info = json.loads((path / RUN_FILE).read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path} has no {RUN_FILE}: not a run folder.") from None
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{path / RUN_FILE} is corrupt: {e}.") from e
    if not isinstance(info, dict) or not isinstance(info.get("config"), dict):
        raise CheckpointError(f"{path / RUN_FILE} is not a Neural Net Lab run (no config).")
    return Run(path.name, path, info)


def list_runs(root: Path | str = DEFAULT_ROOT) -> tuple[list[Run], list[str]]:
    """All readable runs, newest first, and a message for each folder that could not be read."""
    root = Path(root)
    runs, problems = [], []
    if not root.is_dir():
        return runs, problems
    for path in sorted(root.iterdir()):
        if not path.is_dir() or path.name.startswith("."):
            continue
        try:
            runs.append(read_run(path))
        except CheckpointError as e:
            problems.append(str(e))
    runs.sort(key=lambda r: r.info.get("created", ""), reverse=True)
    return runs, problems


def _process_alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, TypeError, ValueError):
        return False
    return True


def recover_interrupted(root: Path | str = DEFAULT_ROOT) -> list[str]:
    """Runs left 'running' by a process that no longer exists (a killed server or command line)
    become 'interrupted'; their best model so far stays. Returns their ids."""
    marked = []
    for run in list_runs(root)[0]:
        info = run.info
        if info.get("status") != "running":
            continue
        same_host = info.get("host") in (None, platform.node())
        if same_host and not _process_alive(info.get("pid")):
            update_run(run, status="interrupted",
                       note="The process training this run stopped before it finished; the best model "
                            "up to then is kept.")
            marked.append(run.id)
    return marked


def disk_usage(root: Path | str = DEFAULT_ROOT) -> int:
    """Bytes used by all files under the checkpoints folder."""
    root = Path(root)
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.is_dir() else 0


def check_disk_budget(root: Path | str, budget_bytes: int) -> None:
    used = disk_usage(root)
    if budget_bytes and used >= budget_bytes:
        raise CheckpointError(
            f"The runs folder {root} uses {used / 2**20:,.0f} MB of its {budget_bytes / 2**20:,.0f} MB budget: "
            "delete runs in Runs (or clean up failed and interrupted ones) before training again, or raise "
            "NNLAB_DISK_BUDGET_MB.")


def clean_up(root: Path | str, statuses=("failed", "interrupted", "diverged", "stopped")) -> list[str]:
    """Delete every run whose status is one of `statuses` (the lecturer's clean-up)."""
    removed = []
    for run in list_runs(root)[0]:
        if run.info.get("status") in statuses:
            delete_run(root, run.id)
            removed.append(run.id)
    return removed


def get_run(root: Path | str, run_id: str) -> Run:
    path = Path(root) / check_run_id(run_id)
    if not path.is_dir():
        raise CheckpointError(f"No run '{run_id}' in {root}.")
    return read_run(path)


def rename_run(root: Path | str, run_id: str, new_name: str) -> Run:
    new_name = new_name.strip()
    if not new_name or len(new_name) > 100:
        raise CheckpointError("A run name must have 1 to 100 characters.")
    run = get_run(root, run_id)
    update_run(run, name=new_name)
    return run


def delete_run(root: Path | str, run_id: str) -> None:
    run = get_run(root, run_id)
    # Rename first so a half-deleted folder never shows up in the listing.
    trash = run.path.with_name(f".deleted-{run.id}-{uuid.uuid4().hex[:6]}")
    os.replace(run.path, trash)
    shutil.rmtree(trash, ignore_errors=True)


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


def build_for_run(run: Run) -> nn.Module:
    """An untrained model of the run's architecture."""
    cfg = run.config
    try:
        return build_model(cfg.model, run.info["input_shape"], run.info["num_classes"], **cfg.model_kwargs())
    except (KeyError, ModelError, TypeError) as e:
        raise CheckpointError(f"Run {run.id} cannot rebuild its model: {e}.") from e


def load_model(run: Run) -> nn.Module:
    """The run's model with its best weights, in eval mode, on the CPU."""
    if not run.has_model:
        raise CheckpointError(f"Run '{run.name}' has no saved model (it ended before its first epoch "
                              "finished).")
    model = build_for_run(run)
    load_into(model, load_state_dict(run.path / MODEL_FILE), f"Run {run.id}'s model.pt")
    return model.eval()


class RunRecorder:
    """An event listener that keeps a run folder up to date while `fit` trains."""

    def __init__(self, run: Run):
        self.run = run

    def __call__(self, event) -> None:
        from .train import EpochEnd, NewBest, Started
        if isinstance(event, Started):
            update_run(self.run, device=event.device, params=event.params)
        elif isinstance(event, NewBest):
            save_weights(self.run.path / MODEL_FILE, event.state_dict)
            update_run(self.run, best={"epoch": event.epoch, "accuracy": event.accuracy, "split": event.split})
        elif isinstance(event, EpochEnd):
            update_run(self.run, history=self.run.info["history"] + [asdict(event)])

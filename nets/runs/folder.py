"""One run folder under `checkpoints/`, kept consistent with its weights and its index row.

    checkpoints/<run id>/run.json              config, classes, normalisation, per-epoch metrics,
                                               timing, versions, and which weights file is current
    checkpoints/<run id>/model-e0003-1a2b3c.pt the best weights (a state dict, weights_only=True)
    checkpoints/<run id>/evaluation.npz        the test-set evaluation of those weights (nets.runs.evals)

A new best model is written under a new name, then run.json (and the index row) point at it, then
the old file goes: a process killed at any moment leaves a run whose record and weights agree.
Runs saved before this scheme (and the shipped example) keep their weights in `model.pt`.
"""
from __future__ import annotations

import json
import os
import platform
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from nets import settings
from nets.engine.config import TrainConfig
from nets.engine.models import ModelError, build_model
from nets.files import CheckpointError, atomic_write_json, load_into, load_state_dict, save_weights
from nets.runs.index import RunIndex
from nets.runs.rows import RunRow, row_of
from nets.status import Status

RUN_FILE, MODEL_FILE = "run.json", "model.pt"
DEFAULT_ROOT = settings.SETTINGS["NNLAB_CHECKPOINTS"].default  # the app's own: the shipped example run is here
_ID_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
WEIGHTS_RE = re.compile(r"^model(-e\d+-[0-9a-f]+)?\.pt$")


def no_weights(subject: str = "This run") -> str:
    """The one sentence for a run without weights, wherever it is said (loading, exports, pages)."""
    return f"{subject} has no saved model: it ended before its first epoch finished, so there are no saved weights."


def checkpoint_step(name: str, run: "Run") -> None:
    """Does nothing. The crash tests replace it to kill the process between two steps of a write."""


@dataclass
class Run:
    id: str
    path: Path
    info: dict = field(repr=False)

    @property
    def name(self) -> str:
        name = self.info.get("name")  # a run.json edited by hand may hold anything here
        return name if isinstance(name, str) and name else self.id

    @property
    def config(self) -> TrainConfig:
        return TrainConfig.from_dict(self.info.get("config", {}))

    @property
    def weights_file(self) -> str:
        """The current weights' file name (run.json says which; older runs: model.pt)."""
        name = self.info.get("weights") or MODEL_FILE
        return name if WEIGHTS_RE.match(str(name)) else MODEL_FILE

    @property
    def weights_path(self) -> Path:
        return self.path / self.weights_file

    @property
    def has_model(self) -> bool:
        return self.weights_path.exists()

    def row(self) -> RunRow:
        return row_of(self.id, self.info, self.has_model, folder_bytes(self.path))


def versions() -> dict:
    import numpy
    import torchvision
    return {"python": platform.python_version(), "torch": torch.__version__,
            "torchvision": torchvision.__version__, "numpy": numpy.__version__}


def folder_bytes(path: Path) -> int:
    try:
        return sum(e.stat().st_size for e in os.scandir(path) if e.is_file())
    except OSError:
        return 0


def index(root: Path | str) -> RunIndex:
    """The index of a checkpoints folder, built from the folders when it is missing or corrupt."""
    return RunIndex(root, rebuild_from=scan_rows)


def index_put(root: Path | str, row: RunRow) -> None:
    """Write a run's index row, unless this machine must not: SQLite's WAL needs every writer on
    the machine that holds the file, so a Ray worker on another machine sets NNLAB_INDEX_WRITES=0
    and the app's job service writes the row from the shared folder instead."""
    if settings.get("NNLAB_INDEX_WRITES"):
        index(root).put(row)


def check_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not _ID_OK.match(run_id) or ".." in run_id:
        raise CheckpointError(f"'{run_id}' is not a valid run id (letters, digits, '.', '_' and '-').")
    return run_id


def new_run_id(cfg: TrainConfig) -> str:
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", cfg.label())[:60].strip("-") or "run"
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{stem}-{uuid.uuid4().hex[:6]}"


def create_run(root: Path | str, cfg: TrainConfig, info: dict, run_id: str | None = None) -> Run:
    """Make the run folder, its first run.json (status 'running') and its index row."""
    root = Path(root)
    run_id = check_run_id(run_id or new_run_id(cfg))
    path = root / run_id
    root.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir()
    except FileExistsError:
        raise CheckpointError(f"A run '{run_id}' already exists in {root}; choose another id or delete it.") from None
    info = {"id": run_id, "name": cfg.label(), "status": Status.RUNNING, "config": cfg.to_dict(),
            "created": time.strftime("%Y-%m-%d %H:%M:%S"), "versions": versions(), "history": [],
            "pid": os.getpid(), "host": platform.node(), **info}
    run = Run(run_id, path, info)
    atomic_write_json(path / RUN_FILE, info)
    index_put(root, run.row())
    return run


def update_run(run: Run, **changes) -> None:
    """Change the record: run.json first (the truth), then its index row."""
    run.info.update(changes)
    atomic_write_json(run.path / RUN_FILE, run.info)
    checkpoint_step("record-written", run)
    index_put(run.path.parent, run.row())


def save_best(run: Run, state_dict: dict, **record) -> None:
    """New best weights and the record that describes them, changed together (see the docstring)."""
    old = run.weights_path if run.has_model else None
    name = f"model-e{int(record.get('best', {}).get('epoch') or 0):04d}-{uuid.uuid4().hex[:6]}.pt"
    checkpoint_step("before-weights", run)
    save_weights(run.path / name, state_dict)
    checkpoint_step("weights-written", run)
    update_run(run, weights=name, **record)
    checkpoint_step("record-and-index-written", run)
    if old is not None and old.name != name:
        old.unlink(missing_ok=True)
    checkpoint_step("old-weights-removed", run)


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


def folder_ids(root: Path | str) -> list[str]:
    """The names of the run folders (hidden ones, such as deletions in progress, excluded)."""
    root = Path(root)
    if not root.is_dir():
        return []
    return [e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith(".")]


def list_runs(root: Path | str = DEFAULT_ROOT) -> tuple[list[Run], list[str]]:
    """Every readable run folder, newest first, and a message for each folder that could not be
    read. Reads every run.json: pages list from the index instead (nets.runs.index)."""
    root = Path(root)
    runs, problems = [], []
    for run_id in sorted(folder_ids(root)):
        try:
            runs.append(read_run(root / run_id))
        except CheckpointError as e:
            problems.append(str(e))
    runs.sort(key=lambda r: r.info.get("created") if isinstance(r.info.get("created"), str) else "", reverse=True)
    return runs, problems


def scan_rows(root: Path | str) -> list[RunRow]:
    """Index rows read from the folders themselves (a rebuild)."""
    return [r.row() for r in list_runs(root)[0]]


def read_row(root: Path | str, run_id: str) -> RunRow | None:
    try:
        return read_run(Path(root) / run_id).row()
    except CheckpointError:
        return None


def get_run(root: Path | str, run_id: str) -> Run:
    path = Path(root) / check_run_id(run_id)
    if not path.is_dir():
        raise CheckpointError(f"No run '{run_id}' in {root}.")
    return read_run(path)


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
        raise CheckpointError(no_weights(f"Run '{run.name}'"))
    model = build_for_run(run)
    load_into(model, load_state_dict(run.weights_path), f"Run {run.id}'s {run.weights_file}")
    return model.eval()

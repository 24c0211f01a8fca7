"""One job of the job service: its settings, its state as the work's messages arrive (under its own
lock), and the snapshot a page reads (`JobView`), copied out so a poll costs microseconds."""
from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nets.engine.config import TrainConfig
from nets.runs import new_run_id
from nets.server.worker import event_message

if TYPE_CHECKING:
    from nets.scratch.lab import LabSettings, LabView

ACTIVE = ("queued", "running")
MAX_LOSS_POINTS = 2000  # older points are thinned: every re-draw sends the whole series


@dataclass
class JobView:
    """A consistent copy of a job's state, safe to read without locks."""
    id: str
    label: str
    group: str
    status: str                  # queued, running, completed, stopped, early-stopped, diverged, failed, cancelled
    config: TrainConfig
    created: float
    started: float | None
    ended: float | None
    position: int | None         # place in the queue, 1 = next to start
    started_info: dict | None    # the Started event
    progress: dict | None        # the latest BatchProgress
    loss_points: list[tuple[int, float]]   # (images seen, training loss)
    epochs: list[dict]           # EpochEnd events as dicts
    notes: list[dict]            # Diverged / EarlyStopped / Stopped events as dicts, with "kind"
    summary: dict | None         # RunSummary.to_dict() once saved
    error: str | None
    phase: str | None = None     # what a running job does before training (downloading, extracting features)
    phase_fraction: float | None = None  # how far that is, 0-1; None when it cannot be measured
    error_details: str = ""      # for a folded "Details" section: paths, addresses, the raw error
    owner: str = ""              # who submitted it (nets.server.identity)
    kind: str = "train"          # "lab" jobs (the NumPy lab) have a LabView instead (nets.scratch.lab)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def done(self) -> float:
        """How much of the planned training is done, 0-1, from the latest progress."""
        p = self.progress
        if not p:
            return 0.0
        return min(((p["epoch"] - 1) * p["batches"] + p["batch"]) / (p["batches"] * self.config.epochs), 1.0)

    @property
    def run_id(self) -> str | None:
        return self.summary["run_id"] if self.summary else None


def stopped_summary(run) -> dict:
    """A summary (nets.experiment.RunSummary's fields) for a run whose worker was ended by a Stop."""
    best = run.info.get("best") or {}
    return {"run_id": run.id, "name": run.name, "status": "stopped",
            "best_test_acc": best.get("accuracy") if best.get("split") == "test" else None,
            "best_epoch": best.get("epoch"), "seconds": 0.0, "images_per_s": 0.0, "params": run.info.get("params", 0)}


class Job:
    def __init__(self, cfg: TrainConfig | LabSettings, group: str = "", owner: str = "", kind: str = "train"):
        self.id = uuid.uuid4().hex
        self.cfg, self.group, self.owner, self.kind = cfg, group, owner, kind
        self.stop_event = threading.Event()
        self._lock = threading.Lock()
        self.status = "queued"
        self.created, self.started, self.ended = time.time(), None, None
        self.started_info = self.progress = self.summary = self.error = self.phase = None
        self.phase_fraction: float | None = None
        self.error_details = ""
        # chosen here, so a job whose worker dies can mark its run; a lab job saves no run
        self.run_id = new_run_id(cfg) if kind == "train" else None
        self.lab = None
        if kind == "lab":  # the NumPy lab's records, results and weights
            from nets.scratch.lab import LabState
            self.lab = LabState(cfg)
        self.loss_points: list[tuple[int, float]] = []
        self.epochs: list[dict] = []
        self.notes: list[dict] = []

    def request_stop(self) -> None:
        self.stop_event.set()

    def on_event(self, event) -> None:
        """An engine event, from a training loop in this process."""
        message = event_message(event)
        if message is not None:
            self.apply(message)

    def apply(self, message: dict) -> None:
        """A message of the work (nets.server.worker): an engine event as a dict, or a phase."""
        with self._lock:
            if message.get("type") == "phase":
                self.phase, self.phase_fraction = message.get("text"), message.get("fraction")
                return
            if self.lab is not None:
                self.lab.apply(message)
                return
            kind, data = message.get("kind"), message.get("data") or {}
            if kind == "Started":
                self.started_info = dict(data)
            elif kind == "BatchProgress":
                self.progress = dict(data)
                self.loss_points.append((data["images_seen"], data["loss"]))
                if len(self.loss_points) > MAX_LOSS_POINTS:
                    self.loss_points = self.loss_points[::2]
            elif kind == "EpochEnd":
                self.epochs.append(dict(data))
            elif kind in ("Diverged", "EarlyStopped", "Converged", "Stopped"):
                self.notes.append({"kind": kind, **data})
            # Finished is not recorded here: the status changes only with the saved summary

    def view(self, position: int | None = None) -> JobView | LabView:
        with self._lock:
            if self.lab is not None:
                return self.lab.view(self, position)
            return JobView(self.id, self.cfg.label(), self.group, self.status, self.cfg, self.created,
                           self.started, self.ended, position,
                           dict(self.started_info) if self.started_info else None,
                           dict(self.progress) if self.progress else None,
                           list(self.loss_points), [dict(e) for e in self.epochs],
                           [dict(n) for n in self.notes], dict(self.summary) if self.summary else None,
                           self.error, self.phase, self.phase_fraction, self.error_details, self.owner)

    def _set(self, **fields) -> None:
        with self._lock:
            for k, v in fields.items():
                setattr(self, k, v)

"""One job of the job service: its work, its state as the work's messages arrive (under its own lock),
and the fields every job's view shares (`JobFields`), copied out so a poll costs microseconds."""
from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

from nets.server.work import Work
from nets.status import ACTIVE, Status


@dataclass(kw_only=True)
class JobFields:
    """What a page reads of any job, whatever it runs; each work's view adds its own part
    (nets.training_work.JobView, nets.scratch.lab.LabView). A copy, safe to read without locks."""
    id: str
    label: str
    group: str
    status: str                  # a nets.status.Status: queued, running, completed, stopped, failed, ...
    owner: str                   # who submitted it (nets.server.identity)
    kind: str                    # what it runs (Work.kind: "train", "lab", ...)
    created: float
    started: float | None
    ended: float | None
    position: int | None         # place in the queue, 1 = next to start
    error: str | None
    error_details: str = ""      # for a folded "Details" section: paths, addresses, the raw error
    phase: str | None = None     # what a running job does before its work's first message (loading the data)
    phase_fraction: float | None = None  # how far that is, 0-1; None when it cannot be measured
    summary: dict | None = None  # what its outcome saved (a run's summary), once it ended
    started_info: dict | None = None  # once it started: where ({"device": …}) and what it trains

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


class Job:
    """A queued, running or ended work, as the job service keeps it."""

    def __init__(self, work: Work, group: str = "", owner: str = ""):
        self.id = uuid.uuid4().hex
        self.work, self.group, self.owner = work, group, owner
        self.run_id = work.run_id  # chosen before it starts, so a job whose worker dies can mark its run
        self._lock = threading.Lock()
        self.status = Status.QUEUED
        self.created, self.started, self.ended = time.time(), None, None
        self.summary = self.error = self.phase = None
        self.phase_fraction: float | None = None
        self.error_details = ""
        self.state = work.tracker()  # the work's own part, as its messages arrive

    def label(self) -> str:
        return self.work.label()

    def apply(self, message: dict) -> None:
        """A message of the work: a phase (the job's), or the work's own (its tracker's)."""
        with self._lock:
            if message.get("type") == "phase":
                self.phase, self.phase_fraction = message.get("text"), message.get("fraction")
            else:
                self.state.apply(message)

    def view(self, position: int | None = None):
        """The work's view (a JobFields) with this job's fields."""
        with self._lock:
            return self.state.view({
                "id": self.id, "label": self.work.label(), "group": self.group, "status": self.status,
                "owner": self.owner, "kind": self.work.kind, "created": self.created, "started": self.started,
                "ended": self.ended, "position": position, "error": self.error, "error_details": self.error_details,
                "phase": self.phase, "phase_fraction": self.phase_fraction,
                "summary": dict(self.summary) if self.summary else None})

    def _set(self, **fields) -> None:
        with self._lock:
            for k, v in fields.items():
                setattr(self, k, v)

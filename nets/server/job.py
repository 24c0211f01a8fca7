"""One job of the job service: its work, its state as the work's messages arrive (under its own lock),
and the fields every job's view shares (`JobFields`), copied out so a poll costs microseconds."""
from __future__ import annotations

import threading
import time
import uuid

from nets.status import Status
from nets.work import Work


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
        self.estimated: float | None = None  # its cost estimate in seconds, and the key of its
        self.key = work.kind                 # configuration's past run times (nets.server.waits)

    def label(self) -> str:
        return self.work.label()

    def apply(self, message: dict) -> None:
        """A message of the work: a phase (the job's), or the work's own (its tracker's)."""
        with self._lock:
            if message.get("type") == "phase":
                self.phase, self.phase_fraction = message.get("text"), message.get("fraction")
            else:
                self.state.apply(message)

    def view(self, position: int | None = None, wait_s: float | None = None):
        """The work's view (a JobFields) with this job's fields; `position` and `wait_s` while it is queued."""
        with self._lock:
            return self.state.view({
                "id": self.id, "label": self.work.label(), "group": self.group, "status": self.status,
                "owner": self.owner, "kind": self.work.kind, "created": self.created, "started": self.started,
                "ended": self.ended, "position": position, "wait_s": wait_s, "error": self.error, "error_details": self.error_details,
                "phase": self.phase, "phase_fraction": self.phase_fraction,
                "summary": dict(self.summary) if self.summary else None})

    def _set(self, **fields) -> None:
        with self._lock:
            for k, v in fields.items():
                setattr(self, k, v)

"""How far a job or a run got: one enum of statuses and its groups (active, succeeded, unfinished)."""
from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """A run's or a job's status. A StrEnum: it is its own text in run.json, the index, messages and
    JSON, and compares equal to it ("completed" == Status.COMPLETED)."""
    QUEUED = "queued"               # a job waiting for room (jobs only)
    RUNNING = "running"
    COMPLETED = "completed"         # every planned epoch
    EARLY_STOPPED = "early-stopped"  # the validation accuracy stopped improving
    CONVERGED = "converged"         # the training loss stopped falling
    STOPPED = "stopped"             # by request; the best model so far is kept
    DIVERGED = "diverged"           # the loss became NaN or blew up
    FAILED = "failed"               # an error
    INTERRUPTED = "interrupted"     # the server went away while it trained
    CANCELLED = "cancelled"         # a queued job withdrawn before it started (jobs only)

    @property
    def active(self) -> bool:
        return self in ACTIVE

    @property
    def succeeded(self) -> bool:
        return self in SUCCEEDED


ACTIVE = frozenset({Status.QUEUED, Status.RUNNING})  # can still be stopped
SUCCEEDED = frozenset({Status.COMPLETED, Status.EARLY_STOPPED, Status.CONVERGED})  # ended as planned
UNFINISHED = (Status.FAILED, Status.INTERRUPTED, Status.DIVERGED, Status.STOPPED)  # the clean-up's default choice
ENDED = tuple(s for s in Status if s not in ACTIVE)  # every way a job or run can end

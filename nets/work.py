"""What a job runs: the Work interface, the fields every job's view shares, the refusal; below the server and its works.

The job service never asks what kind of work a job is. A caller hands it a `Work` (training:
nets.training_work.TrainWork; the NumPy lab: nets.scratch.lab.LabWork); the service queues it, gives
its `spec()` (plain data, with the work's class path) to a thread, a worker process or a Ray task,
where `from_spec` rebuilds it and `run` does it, and applies the messages it sends to its
`tracker()`, from which pages read its view. A new kind of work is a new class, not a new branch here.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from nets.engine.config import ConfigError
from nets.status import ACTIVE, Status

WORK_KEY = "work"  # the spec's entry naming the work's class, "package.module:Class"
GPU_SMALL, GPU_LARGE = 0.5, 1.0  # the share of a GPU a small job asks for (several fit on one), and a large one


class JobRefused(ConfigError):
    """A job the server will not queue: over a budget or a student's limit; the message says which."""


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
    wait_s: float | None = None  # while queued: the seconds until it is expected to start (nets.server.waits)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


@runtime_checkable
class Tracker(Protocol):
    """A job's own part of its state: the work's messages applied (under the job's lock), and copied out."""

    def apply(self, message: dict) -> None:
        """One message of the work (phases are the job's, and never reach here)."""

    def view(self, common: dict):
        """A consistent copy for pages: the work's view with the job's `common` fields (JobFields)."""


@runtime_checkable
class Work(Protocol):
    kind: str                      # its name in views and job lists ("train", "lab")
    run_id: str | None             # the run it saves, chosen before it starts; None: it saves none
    refusal: type[Exception]       # what refuses it at the door (a nets.server.budget.JobRefused)

    def label(self) -> str:
        """Its name in job lists."""

    def spec(self) -> dict:
        """Plain data a worker rebuilds it from: JSON-able, with WORK_KEY: class_path(self)."""

    @classmethod
    def from_spec(cls, spec: dict) -> Work:
        """The work `spec` describes (in a worker process, a thread or a Ray task)."""

    def tracker(self) -> Tracker:
        """A fresh state for its messages (the job keeps it)."""

    def check(self, service) -> None:
        """Raise (with a message for the student) when it cannot run, or may not here: the job service asks
        at its door, and is `service` (its data folder, its budget: nets.server.admission)."""

    def unique(self, taken: list[str]) -> Work:
        """Itself, or a copy named apart from `taken` (the labels of saved runs and jobs)."""

    def run(self, emit, stop: threading.Event, cache, own_process: bool) -> dict:
        """Do it: `emit(message)` reports (plain dicts; {"type": "phase", "text", "fraction"} for the job's
        phase), `stop` asks it to end, `cache` (DataCache) keeps loaded data between
        jobs, `own_process`: the process is the job's (it may set process-wide thread counts). Returns
        the outcome: {"status", and "summary" or "error", "error_details"}."""

    def failure(self, error: Exception) -> dict | None:
        """Its own errors in words ({"error", "error_details"}); None for one it does not know."""

    def lost(self, error: str, stopped: bool) -> dict:
        """Its worker died (`error` says so), or was ended by a Stop (`stopped`): mark what it saves,
        and return the job's outcome."""

    def interrupted(self) -> bool:
        """The server went away while it ran: mark what it saves as interrupted; whether it did."""

    def resources(self, cluster_gpus: float, cpus_per_job: float) -> dict:
        """Its Ray resource request: {"num_cpus", "num_gpus"}."""


class RunlessWork:
    """What every work that saves no run shares (the NumPy lab, the learning-rate finder, the projector):
    no run to name apart or mark, and its own errors (`known`) told in words."""
    run_id = None
    known: tuple[type[Exception], ...] = (ConfigError,)

    def unique(self, taken: list[str]):
        return self  # it saves no run: no name to keep apart

    def failure(self, error: Exception) -> dict | None:
        if isinstance(error, self.known):
            return {"error": str(error), "error_details": getattr(error, "details", "")}
        return None

    def lost(self, error: str, stopped: bool) -> dict:
        return {"status": Status.STOPPED, "summary": None} if stopped else {"status": Status.FAILED, "error": error}

    def interrupted(self) -> bool:
        return False  # nothing saved to mark


def class_path(work) -> str:
    """How a spec names the work's class."""
    return f"{type(work).__module__}:{type(work).__qualname__}"


class DataCache:
    """The last few loaded datasets, so a queue of four runs loads its data once."""

    def __init__(self, keep: int = 3):
        self.keep, self._lock, self._data = keep, threading.Lock(), OrderedDict()

    def load(self, key: tuple, make):
        """The data cached under `key`, made by `make()` when it is not."""
        with self._lock:  # one load per dataset even when several jobs start at once
            if key not in self._data:
                self._data[key] = make()
                while len(self._data) > self.keep:
                    self._data.popitem(last=False)
            self._data.move_to_end(key)
            return self._data[key]

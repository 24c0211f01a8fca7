"""What a job runs: the Work interface the job service, its workers and pools know, and a work rebuilt from its spec.

The job service never asks what kind of work a job is. A caller hands it a `Work` (training:
nets.training_work.TrainWork; the NumPy lab: nets.scratch.lab.LabWork); the service queues it, gives
its `spec()` (plain data, with the work's class path) to a thread, a worker process or a Ray task,
where `from_spec` rebuilds it and `run` does it, and applies the messages it sends to its
`tracker()`, from which pages read its view. A new kind of work is a new class, not a new branch here.
"""
from __future__ import annotations

import importlib
import importlib.util
import threading
from pathlib import Path
from typing import Protocol, runtime_checkable

ROOT = Path(__file__).resolve().parent.parent.parent  # the app's folder
WORK_KEY = "work"  # the spec's entry naming the work's class, "package.module:Class"
GPU_SMALL, GPU_LARGE = 0.5, 1.0  # the share of a GPU a small job asks for (several fit on one), and a large one
ATTRIBUTES = ("kind", "run_id", "refusal", "label", "spec", "from_spec", "tracker", "check", "unique", "run",
              "failure", "lost", "interrupted", "resources")


class WorkError(ValueError):
    """A spec that names no work this app has."""


@runtime_checkable
class Tracker(Protocol):
    """A job's own part of its state: the work's messages applied (under the job's lock), and copied out."""

    def apply(self, message: dict) -> None:
        """One message of the work (phases are the job's, and never reach here)."""

    def view(self, common: dict):
        """A consistent copy for pages: the work's view with the job's `common` fields (nets.server.job.JobFields)."""


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
        phase), `stop` asks it to end, `cache` (nets.server.worker.DataCache) keeps loaded data between
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


def class_path(work) -> str:
    """How a spec names the work's class."""
    return f"{type(work).__module__}:{type(work).__qualname__}"


def own_code(module: str) -> bool:
    """Whether `module` is this app's code: nets' own, or a file in the app's folder (its tests), never an
    installed package. Only such a module is imported for a spec."""
    if module.startswith("nets."):
        return True
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return False
    if found is None or not found.origin or not Path(found.origin).is_file():
        return False
    origin = Path(found.origin).resolve()
    inside = origin.relative_to(ROOT).parts if origin.is_relative_to(ROOT) else ()
    return bool(inside) and not any(p.startswith(".") or p == "site-packages" for p in inside)


def work_class(path: str) -> type:
    """The class a spec names: a class of the app (nets', see own_code) with every Work attribute, else WorkError."""
    module, _, name = str(path).partition(":")
    if not module or not name.isidentifier() or not own_code(module):
        raise WorkError(f"This worker cannot run {path!r}: not a work of this app.")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise WorkError(f"This worker cannot run {path!r}: {e}.") from e
    if not isinstance(cls, type) or any(not hasattr(cls, a) for a in ATTRIBUTES if a not in ("run_id",)):
        raise WorkError(f"This worker cannot run {path!r}: it is not a Work.")
    return cls


def from_spec(spec: dict) -> Work:
    """The work a spec describes, rebuilt by the class it names."""
    return work_class(spec.get(WORK_KEY, "")).from_spec(spec)

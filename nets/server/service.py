"""The job service's interface as pages use it, which JobManager (threads, processes) and RayJobs (Ray) satisfy."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from nets.runs.access import Access
from nets.server.budget import Limits
from nets.work import JobFields, Work


@runtime_checkable
class JobService(Protocol):
    """What `job_manager()` returns. Submitting returns something with the job's `id`, `group`, `owner`
    and `run_id` (the Job itself, or a Ray client's ticket); a view is its work's (a JobFields)."""
    checkpoints: Path

    def submit(self, cfg, owner: str = "", group: str = "") -> object:
        """Queue a training job (a TrainConfig); ConfigError or JobRefused, with the reason, if it may not."""

    def submit_group(self, cfgs, owner: str = "", name: str = "") -> list:
        """Several configurations queued together (all of them or, refused, none)."""

    def submit_lab(self, settings, owner: str = "") -> object:
        """A NumPy-lab run (nets.scratch.lab.LabSettings) as a job."""

    def submit_works(self, works: list[Work], owner: str = "", group: str = "") -> list:
        """Works of any kind, queued together."""

    def stop(self, job_id: str, who: Access | None = None) -> bool:
        """Stop a running job or cancel a queued one, if `who` may; whether the request was taken."""

    def stop_group(self, group: str, who: Access | None = None) -> None:
        """Stop every active job of the group that `who` may stop."""

    def view(self, job_id: str, who: Access | None = None) -> JobFields | None:
        """The job's state, or None when there is none or `who` may not see it."""

    def views(self, who: Access | None = None, group: str | None = None) -> list[JobFields]:
        """Every job `who` may see, oldest first."""

    def overview(self, who: Access | None) -> list[JobFields]:
        """Every job, for the lecturer; nothing for a student."""

    def running_count(self) -> int:
        """Jobs running now."""

    def wait(self, job_id: str, timeout: float = 60.0) -> JobFields:
        """Block until the job ended (tests, scripts)."""

    def workers(self) -> list[dict]:
        """The worker processes or tasks, for the lecturer's view."""

    def in_process(self) -> bool:
        """Whether jobs run in threads of the web server's own process."""

    def restarts(self) -> int:
        """Worker processes that died and were replaced."""

    def budget_problem(self, cfg) -> str | None:
        """Why a TrainConfig is over the budget of one job, or None."""

    def budget(self) -> Limits:
        """The limits in force."""

    def set_budget(self, values: dict, who: Access | None = None) -> Limits:
        """The lecturer's limits, saved."""

    def close(self) -> None:
        """This web server lets go of the service (its jobs stop where they run here)."""


# Every method of the interface, for a client that forwards them (nets.server.ray_jobs.RayJobs).
METHODS = tuple(name for name, value in vars(JobService).items() if callable(value) and not name.startswith("_"))


@dataclass(frozen=True)
class JobTicket:
    """What a web server keeps of a job it submitted through another process (JobManager.submit returns
    the Job itself, which stays where it runs)."""
    id: str
    group: str
    owner: str
    run_id: str | None  # None for a NumPy-lab job: it saves no run
    label: str

    @classmethod
    def of(cls, job) -> JobTicket:
        return cls(job.id, job.group, job.owner, job.run_id, job.label())


def answer(service: JobService, method: str, args: tuple = (), kwargs: dict | None = None):
    """A method of the interface called on the service that holds the jobs, for a client in another process
    (the Ray actor, the shared queue); a job it returns (a submit) as its ticket. `wait` and `close` are each
    client's own, and nothing outside METHODS is answered."""
    if method not in METHODS or method in ("wait", "close"):
        raise AttributeError(f"the job service has no method {method!r}")
    result = getattr(service, method)(*args, **(kwargs or {}))
    if method.startswith("submit"):
        return [JobTicket.of(j) for j in result] if isinstance(result, list) else JobTicket.of(result)
    return result


def forwarding(cls):
    """A client class whose every interface method not its own is `self._call(name, *args, **kwargs)`:
    the interface is declared once (JobService) and each client states only how it calls."""
    def forward(name: str):
        def method(self, *args, **kwargs):
            return self._call(name, *args, **kwargs)
        method.__name__ = method.__qualname__ = name
        return method
    for name in METHODS:
        if name not in vars(cls):
            setattr(cls, name, forward(name))
    return cls


def wait_for(service: JobService, job_id: str, timeout: float = 60.0):
    """Block until the job is no longer queued or running (for tests and scripts)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = service.view(job_id)
        if v is None or not v.active:
            return v
        time.sleep(0.05)
    raise TimeoutError(f"job {job_id} still {service.view(job_id).status} after {timeout}s")

"""One job of the GPU check through a job service: submitted, watched until its first live point and its end, its worker's memory probed, its row of the table."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from nets.gpucheck.probe import MemoryProbe

POLL_S = 0.01


@dataclass
class Row:
    """One line of the table: a job's figures."""
    service: str
    arch: str
    setting: str
    status: str
    device: str = ""                   # where it trained, as the engine's Started event said
    images_per_s: float | None = None  # training images per second (nets.engine.events.Finished)
    first_point_s: float | None = None  # from the submit to the first point on the live panel
    peak_mb: float | None = None       # CUDA: the job's peak allocated memory; CPU: the worker's peak RSS
    loss_first: float | None = None
    loss_last: float | None = None
    test_acc: float | None = None
    seconds: float | None = None       # from the submit to the job's end

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Watched:
    """What watching a job saw: its final view, when its first live point came, how long it took."""
    view: object
    first_point_s: float | None
    seconds: float
    timed_out: bool = False


def watch(service, job_id: str, timeout: float, stop_after_first: bool = False, t0: float | None = None,
          until_first: bool = False) -> Watched:
    """Poll the job's view as a page does until it ends (stopping it at `timeout`, or at its first live
    point when `stop_after_first`; returning there, still running, when `until_first`); the seconds are
    counted from `t0` (time.perf_counter(); the call's time)."""
    t0 = time.perf_counter() if t0 is None else t0
    first, timed_out = None, False
    while True:
        view = service.view(job_id)
        now = time.perf_counter() - t0
        if first is None and getattr(view, "loss_points", None):
            first = now
            if until_first:
                return Watched(view, first, now)
            if stop_after_first:
                service.stop(job_id)
                return Watched(service.wait(job_id, timeout), first, time.perf_counter() - t0)
        if view is None or not view.active:
            return Watched(view, first, now, timed_out)
        if now > timeout and not timed_out:
            timed_out = True
            service.stop(job_id)
        time.sleep(POLL_S)


def train(service, cfg, timeout: float, stop_after_first: bool = False) -> Watched:
    """Submit a training configuration as the Train page does (owner '': the server itself) and watch it."""
    t0 = time.perf_counter()
    job = service.submit(cfg, owner="")
    return watch(service, job.id, timeout, stop_after_first, t0)


def probe(manager, timeout: float = 120.0, count: int = 1, hold_s: float = 0.0) -> list[dict]:
    """`count` memory probes submitted together to the worker processes (nets.gpucheck.probe); their
    summaries, or {} for one that did not complete."""
    jobs = manager.submit_works([MemoryProbe(hold_s) for _ in range(count)], owner="")
    out = []
    for job in jobs:
        try:
            view = manager.wait(job.id, timeout)
        except TimeoutError:
            view = None
        out.append(dict(view.summary) if view is not None and view.status == "completed" and view.summary else {})
    return out


def row_of(service: str, arch: str, setting: str, watched: Watched, memory: dict | None) -> Row:
    """The table's line for a watched training job and the probe after it."""
    v = watched.view
    summary = (getattr(v, "summary", None) or {}) if v is not None else {}
    points = getattr(v, "loss_points", None) or []
    peak = None
    if memory:
        peak = memory.get("peak_mb") if memory.get("cuda") else memory.get("rss_peak_mb")
    return Row(service, arch, setting, str(getattr(v, "status", "lost")),
               device=((getattr(v, "started_info", None) or {}).get("device", "")),
               images_per_s=summary.get("images_per_s"), first_point_s=watched.first_point_s, peak_mb=peak,
               loss_first=points[0][1] if points else None, loss_last=points[-1][1] if points else None,
               test_acc=summary.get("best_test_acc"), seconds=watched.seconds)

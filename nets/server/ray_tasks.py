"""Each job a Ray task: the resource request, the task itself and the pool that launches them.

`RayTaskPool` is nets.server.jobs' pool interface (start, run, stop, workers, close) for the "ray-tasks"
backend, used inside the cluster's job service (nets.server.ray_jobs). A job's task runs nets.server.worker.run_job in a
Ray worker process and sends its messages back to the service from a thread (`Reporter`), each
reply saying whether to stop. Ray does not retry a task: a worker or node that dies fails only its
job, with the reason (`loss_reason`). A job waits for room in the service's queue, never in Ray's.
"""
from __future__ import annotations

import os
import platform
import queue
import threading
import time
from dataclasses import dataclass

from nets import settings
from nets.server.lecturer_view import rss_mb
from nets.server.specs import from_spec
from nets.server.worker import run_job
from nets.status import Status
from nets.work import GPU_SMALL, DataCache

REPORT_EVERY = 0.1  # seconds a task waits for messages before it asks anyway: its stop latency
REPORT_GAP = 0.025  # seconds at least between a task's reports: messages arriving meanwhile go together
MEMORY_EVERY = 2.0  # seconds between a task's reports of its memory, for the Server page
RETRY_EVERY = 2.0  # seconds between looks for room on a full cluster


def job_resources(spec: dict, cluster_gpus: float, cpus_per_job: float) -> dict:
    """The Ray resource request of one job (a work's spec), as its work states it (Work.resources)."""
    return from_spec(spec).resources(cluster_gpus, cpus_per_job)


def default_max_running(resources: dict, cpus_per_job: float) -> int:
    """As many jobs as the cluster holds at once (small ones on GPUs), counted when the queue starts."""
    gpus = resources.get("GPU", 0)
    return max(1, int(gpus / GPU_SMALL) if gpus else int(resources.get("CPU", 1) // max(cpus_per_job, 1e-9)))


def loss_reason(error: Exception) -> str:
    """Why Ray gave up on a job's task, in the words of nets.server.jobs' 'The worker ... stopped: <reason>'."""
    import ray.exceptions as rex
    first = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
    if isinstance(error, rex.OutOfMemoryError):
        return "its machine ran out of memory, and Ray's memory monitor stopped its worker"
    if isinstance(error, rex.NodeDiedError):
        return "the machine running it left the Ray cluster (stopped, restarted or unreachable)"
    if isinstance(error, rex.WorkerCrashedError):
        return "its Ray worker process died (killed, or out of memory?)"
    return f"Ray reported {type(error).__name__}: {first}"


# ------------------------------------------------------------------------------ in the task
_cache: DataCache | None = None  # a Ray worker process runs many tasks: keep its datasets between them


class Reporter:
    """A task's messages, sent to the job service from a thread: a message on its own as soon as it
    comes, a burst together; a reply of True stops the job."""

    def __init__(self, service, job_id: str, stop: threading.Event):
        self.service, self.job_id, self.stop = service, job_id, stop
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name=f"report-{job_id[:8]}", daemon=True)

    def start(self, hello: dict) -> None:
        """Say where the job runs (a job stopped while it started stops at once, as in nets.server.pool)."""
        import ray
        if ray.get(self.service.report.remote(self.job_id, [hello])):
            self.stop.set()
        self._thread.start()

    def emit(self, message: dict) -> None:
        self._queue.put(message)

    def close(self) -> None:
        """Deliver what is left, so every message is applied before the outcome."""
        self._queue.put(None)
        self._thread.join()

    def _loop(self) -> None:
        import ray
        last, memory_at = False, 0.0
        while not last:
            try:
                batch = [self._queue.get(timeout=REPORT_EVERY)]
            except queue.Empty:
                batch = []
            while not self._queue.empty():
                batch.append(self._queue.get())
            last = None in batch
            if time.monotonic() - memory_at > MEMORY_EVERY:  # the Server page cannot read another node's /proc
                batch.append({"type": "memory", "mb": rss_mb(os.getpid())})
                memory_at = time.monotonic()
            try:
                if ray.get(self.service.report.remote(self.job_id, [m for m in batch if m is not None])):
                    self.stop.set()
            except ray.exceptions.RayError:  # the queue is gone: nobody can see or stop this job
                self.stop.set()
                return
            if not last:
                time.sleep(REPORT_GAP)


def train_task(spec: dict, service, job_id: str, threads: int) -> dict:
    """One job, in a Ray worker process: nets.server.worker.run_job with its messages sent to `service`."""
    global _cache
    import torch
    torch.set_num_threads(max(1, threads))
    _cache = _cache or DataCache()
    stop = threading.Event()
    reporter = Reporter(service, job_id, stop)
    reporter.start({"type": "worker", "pid": os.getpid(), "node": platform.node(),
                    "device": os.environ.get("CUDA_VISIBLE_DEVICES", "")})
    try:
        return run_job(spec, reporter.emit, stop, _cache, own_process=True)  # Ray runs one task at a time here
    finally:
        reporter.close()


# ------------------------------------------------------------------------------ in the service actor
@dataclass
class _Task:
    ref: object
    resources: dict
    pid: int | None = None
    node: str = ""
    device: str = ""
    memory_mb: int | None = None
    stop: bool = False
    ended: bool = False  # cancelled because a Stop did not take effect in time


class RayTaskPool:
    """nets.server.jobs' pool interface (start, run, stop, workers, close) on Ray tasks; lives in the service actor."""
    in_process = False  # the jobs run in Ray's worker processes
    local_index = False  # perhaps on machines without the runs' index (NNLAB_INDEX_WRITES=0 there)
    restarts = 0  # Ray starts its own workers again; a lost task fails its job alone

    def __init__(self, size: int, on_message, on_lost, on_idle, preload: tuple[str, ...] = ()):
        import ray
        self.size, self._on_message, self._on_lost, self._on_idle = size, on_message, on_lost, on_idle
        self.cpus_per_job = 1.0
        self._gpus = ray.cluster_resources().get("GPU", 0)
        self._lock = threading.Lock()
        self._tasks: dict[str, _Task] = {}
        self._retry: threading.Timer | None = None
        self._closed = False

    def start(self) -> None:
        """Nothing to start: Ray starts a worker for each task."""

    def _fits(self, resources: dict) -> bool:
        """Whether the cluster has room now, counting our tasks that Ray may not have placed yet."""
        import ray
        free = ray.available_resources()
        with self._lock:
            starting = [t.resources for t in self._tasks.values() if t.pid is None]
        return all(free.get(key, 0) - sum(r[name] for r in starting) >= resources[name] - 1e-9
                   for name, key in (("num_cpus", "CPU"), ("num_gpus", "GPU")) if resources[name])

    def _retry_later(self) -> None:
        with self._lock:
            if self._retry is not None and self._retry.is_alive():
                return
            self._retry = threading.Timer(RETRY_EVERY, self._on_idle)
            self._retry.daemon = True
            self._retry.start()

    def run(self, job_id: str, spec: dict) -> bool:
        """Launch the job's task, or False while the cluster has no room (it stays first in the queue:
        a job never waits inside Ray, where it could not be cancelled or shown its place)."""
        import ray
        resources = job_resources(spec, self._gpus, self.cpus_per_job)
        if self._closed or not self._fits(resources):
            if not self._closed:
                self._retry_later()
            return False
        service = ray.get_runtime_context().current_actor
        task = _Task(None, resources)
        with self._lock:  # known before it starts: its first report may come before .remote() returns
            self._tasks[job_id] = task
        ref = (ray.remote(train_task)
               .options(max_retries=0, name=f"nnlab-train-{job_id[:8]}", **resources)  # a rerun would hide the failure
               .remote(spec, service, job_id, int(self.cpus_per_job)))
        with self._lock:
            task.ref = ref
        gpu = f"{resources['num_gpus']:g} GPU and " if resources["num_gpus"] else ""
        self._on_message(job_id, {"type": "phase", "fraction": None,
                                  "text": f"Starting on the cluster ({gpu}{resources['num_cpus']:g} CPU)"})
        threading.Thread(target=self._watch, args=(job_id, ref), name=f"watch-{job_id[:8]}", daemon=True).start()
        return True

    def report(self, job_id: str, batch: list[dict]) -> bool:
        """A task's messages; returns whether it should stop (True for a job this service never ran)."""
        with self._lock:
            task = self._tasks.get(job_id)
            if task is None:
                return True
            for m in batch:
                if m.get("type") == "worker":
                    task.pid, task.node, task.device = m["pid"], m["node"], m["device"]
                elif m.get("type") == "memory":
                    task.memory_mb = m["mb"]
            stop = task.stop
        for m in batch:
            if m.get("type") != "memory":
                self._on_message(job_id, {"type": "phase", "text": None, "fraction": None}
                                 if m.get("type") == "worker" else m)
        return stop

    def stop(self, job_id: str) -> None:
        """The task hears it in the reply to its next report (a task still starting: to its first);
        one still running NNLAB_STOP_GRACE_S later (a long batch, loading data) is cancelled by force."""
        with self._lock:
            if job_id in self._tasks:
                self._tasks[job_id].stop = True
                timer = threading.Timer(settings.get("NNLAB_STOP_GRACE_S"), self._end_if_busy, args=(job_id,))
                timer.daemon = True
                timer.start()

    def _end_if_busy(self, job_id: str) -> None:
        import ray
        with self._lock:
            task = self._tasks.get(job_id)
            if task is None or task.ref is None:
                return
            task.ended = True
        ray.cancel(task.ref, force=True)

    def _watch(self, job_id: str, ref) -> None:
        import ray
        try:
            outcome = ray.get(ref)
        except ray.exceptions.RayTaskError as e:  # raised outside run_job's own handling: a bug
            outcome = {"status": Status.FAILED, "error": f"{type(e.cause).__name__}: {e.cause}", "error_details": str(e)}
        except ray.exceptions.RayError as e:  # the worker or its node died: this job alone fails
            with self._lock:
                task = self._tasks.pop(job_id, None)
            if task is not None and task.ended:  # ended by a Stop: stopped, not lost
                self._on_lost(job_id, loss_reason(e), stopped=True)
            else:
                self._on_lost(job_id, loss_reason(e))
            return
        with self._lock:
            self._tasks.pop(job_id, None)
        self._on_message(job_id, {"type": "done", **outcome})

    def workers(self) -> list[dict]:
        with self._lock:
            return [{"index": i, "pid": t.pid, "job": job_id, "alive": True, "ready": t.pid is not None,
                     "node": t.node, "gpu": t.device, "memory_mb": t.memory_mb, "resources": dict(t.resources)}
                    for i, (job_id, t) in enumerate(self._tasks.items())]

    def close(self, timeout: float = 10.0) -> None:
        """Called after every job was asked to stop: give them `timeout` s, then end them."""
        import ray
        with self._lock:
            self._closed = True
            refs = [t.ref for t in self._tasks.values() if t.ref is not None]
        _, left = ray.wait(refs, num_returns=len(refs), timeout=timeout) if refs else ([], [])
        for ref in left:
            ray.cancel(ref, force=True)

"""The job services the GPU check trains through, as the app runs them: JobManager with worker processes, and RayJobs on a local Ray cluster it starts and shuts down."""
from __future__ import annotations

import importlib.util
import uuid
from pathlib import Path

from nets.gpucheck.probe import MemoryProbe
from nets.server.jobs import JobManager

NO_LIMITS = {"params": 0, "memory_mb": 0, "minutes": 0, "images": 0}  # the out-of-memory job must reach the GPU


def workers(checkpoints: str | Path, data_dir, size: int = 1, limits: bool = True) -> JobManager:
    """The app's job service with `size` worker processes (backend "process"), which also runs the
    memory probe; without `limits`, no budget refuses a job at the door."""
    return JobManager(checkpoints, data_dir, max_running=size, max_per_owner=size, backend="process",
                      budget=None if limits else NO_LIMITS, works={MemoryProbe.kind: MemoryProbe})


def ray_missing() -> str:
    """Why Ray cannot be used here ('' when it can)."""
    return "" if importlib.util.find_spec("ray") else "the ray package is not installed (pip install -r requirements-ray.txt)"


class LocalRay:
    """A local Ray cluster of this process (never one already running on the machine) and the app's
    Ray job service on it; `close` stops its jobs and the cluster."""

    def __init__(self, checkpoints: str | Path, data_dir, cpus: int, gpus: int):
        import ray
        from nets.server.ray_jobs import RayJobs
        ray.init(address="local", num_cpus=max(1, cpus), num_gpus=gpus, include_dashboard=False,
                 log_to_driver=False, logging_level="ERROR")
        try:
            self.jobs = RayJobs(checkpoints, data_dir, max_running=1, name=f"nnlab-gpu-check-{uuid.uuid4().hex[:8]}")
        except BaseException:
            ray.shutdown()
            raise

    def close(self) -> None:
        import ray
        try:
            self.jobs.shutdown()
        finally:
            ray.shutdown()

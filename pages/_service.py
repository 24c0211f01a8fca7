"""The job service a page talks to, built once from the settings (nets.settings), and the folders it uses.

Settings are read at each call, never kept in module globals, so tests can point the app at temporary
folders (NNLAB_CHECKPOINTS, NNLAB_DATA_DIR, NNLAB_MAX_JOBS, ...; the table is nets/settings.py).
"""
from __future__ import annotations

import gc
from pathlib import Path

import streamlit as st
import torch

from nets import settings
from nets.engine.catalog import default_data_dir
from nets.server.costs import model_shape_cost
from nets.server.jobs import JobManager
from nets.server.service import JobService
from nets.server.shared_jobs import local_settings


def checkpoints_root() -> Path:
    return Path(settings.get("NNLAB_CHECKPOINTS"))


def data_dir() -> Path:
    return default_data_dir()


def torch_threads() -> int:
    """Intra-op threads for training in the server: torch's default (one per core) unless
    $NNLAB_TORCH_THREADS says otherwise. Measured on 2 cores with a page watching (tests/bench_app.py):
    one thread trained at half the command line's speed, two at 87%. Lower it when other heavy
    processes share the machine: two threads crawl when another process takes a core."""
    return settings.get("NNLAB_TORCH_THREADS") or torch.get_num_threads()


@st.cache_resource(show_spinner=False)
def server_log():
    """The server's log set up once per process (nets.server.log); its latest problems for the
    lecturer's Server page."""
    from nets.server.log import setup
    return setup()


@st.cache_resource(show_spinner=False)
def warm_up() -> bool:
    torch.set_num_threads(torch_threads())
    server_log()  # job failures, lost workers and page errors to the log, and to the Server page
    # The first optimizer in a process imports torch._dynamo (~1 s, holding the import lock), and
    # Streamlit's post-run gc pass is slow with torch's objects around: do both once, up front.
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1).step()
    # The first meta-device forward pass loads torch's meta kernels (~1.3 s): the Train form's count and
    # the builder's table use them on every edit, so the first student's first edit must not pay it.
    model_shape_cost("lenet", (1, 28, 28), 10, ())
    gc.collect()
    gc.freeze()
    return True


@st.cache_resource(show_spinner=False)
def _job_manager(**kwargs) -> JobManager:
    manager = JobManager(**kwargs)
    manager.pool.start()  # warm workers now: the first student's job does not wait for imports
    return manager


@st.cache_resource(show_spinner="Joining the app's job queue…")
def _shared_jobs(socket: str, key: str, checkpoints: str):
    from nets.server.shared_jobs import SharedJobs
    return SharedJobs(socket, key, checkpoints)


@st.cache_resource(show_spinner="Joining the Ray cluster…")
def _ray_jobs(address: str, checkpoints: str, data: str, max_running: int | None, per_session: int,
              budget_mb: int, cpus_per_job: float):
    from nets.server.ray_jobs import RayJobs, connect
    connect(address)
    return RayJobs(checkpoints, data, max_running=max_running, max_per_owner=per_session,
                   disk_budget_mb=budget_mb, cpus_per_job=cpus_per_job)


def job_manager() -> JobService:
    """The server's job service (nets.server.service.JobService): jobs trained in worker processes
    ($NNLAB_JOB_BACKEND=thread: in this one). A CPU trains one job at a time well; a GPU has room for
    two small ones. With $NNLAB_RAY_ADDRESS set, the department cluster's one queue instead
    (nets.server.ray_jobs.RayJobs); with $NNLAB_JOBS_SOCKET set (`python -m nets serve`: several web
    processes), the machine's one shared queue (nets.server.shared_jobs.SharedJobs). A missing ray package,
    an unreachable cluster or queue, or an unwritable checkpoints folder stops the page with what to fix."""
    warm_up()
    get = settings.get
    common = (str(checkpoints_root()), str(data_dir()))
    if address := get("NNLAB_RAY_ADDRESS"):
        from nets.server.ray_jobs import ClusterError
        try:  # NNLAB_MAX_JOBS unset: as many as the cluster holds
            return _ray_jobs(address, *common, get("NNLAB_MAX_JOBS"), get("NNLAB_JOBS_PER_SESSION"),
                             get("NNLAB_DISK_BUDGET_MB"), get("NNLAB_RAY_CPUS_PER_JOB"))
        except ClusterError as e:
            st.error(str(e))
            st.stop()
    if socket := get("NNLAB_JOBS_SOCKET"):
        from nets.server.shared_jobs import QueueDown
        try:
            return _shared_jobs(socket, get("NNLAB_JOBS_KEY"), common[0])
        except QueueDown as e:
            st.error(str(e))
            st.stop()
    return _job_manager(**local_settings())

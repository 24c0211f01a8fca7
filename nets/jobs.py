"""Training jobs that outlive a page: a server-wide registry, one worker thread per job.

The Streamlit page submits a job and then only reads snapshots; the worker never touches Streamlit.
Everything a page needs to draw (progress, the loss curve, per-epoch metrics, how the run ended)
is copied out under the job's lock, so a poll costs microseconds and never blocks training.
A cap on running jobs turns the rest into a queue that starts them in order.
"""
from __future__ import annotations

import gc
import threading
import time
import traceback
import uuid
from collections import OrderedDict
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from .config import ConfigError, TrainConfig, validate
from .data import DatasetError, ImageData
from .experiment import RunSummary, prepare_data, run_training
from .models import ModelError
from .naming import default_name, unique_name
from .runs import CheckpointError, check_disk_budget, list_runs, recover_interrupted
from .train import (
    BatchProgress,
    Converged,
    Diverged,
    EarlyStopped,
    EpochEnd,
    Started,
    Stopped,
)

ACTIVE = ("queued", "running")
MAX_LOSS_POINTS = 2000  # older points are thinned: every re-draw sends the whole series


@dataclass
class JobView:
    """A consistent copy of a job's state, safe to read without locks."""
    id: str
    label: str
    group: str
    status: str                  # queued, running, completed, stopped, early-stopped, diverged, failed, cancelled
    config: TrainConfig
    created: float
    started: float | None
    ended: float | None
    position: int | None         # place in the queue, 1 = next to start
    started_info: dict | None    # the Started event
    progress: dict | None        # the latest BatchProgress
    loss_points: list[tuple[int, float]]   # (images seen, training loss)
    epochs: list[dict]           # EpochEnd events as dicts
    notes: list[dict]            # Diverged / EarlyStopped / Stopped events as dicts, with "kind"
    summary: dict | None         # RunSummary.to_dict() once saved
    error: str | None
    phase: str | None = None     # what a running job does before training (downloading, extracting features)
    phase_fraction: float | None = None  # how far that is, 0-1; None when it cannot be measured
    error_details: str = ""      # for a folded "Details" section: paths, addresses, the raw error

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def run_id(self) -> str | None:
        return self.summary["run_id"] if self.summary else None


class Job:
    def __init__(self, cfg: TrainConfig, group: str = "", owner: str = ""):
        self.id = uuid.uuid4().hex
        self.cfg, self.group, self.owner = cfg, group, owner
        self.stop_event = threading.Event()
        self._lock = threading.Lock()
        self.status = "queued"
        self.created, self.started, self.ended = time.time(), None, None
        self.started_info = self.progress = self.summary = self.error = self.phase = None
        self.phase_fraction: float | None = None
        self.error_details = ""
        self.loss_points: list[tuple[int, float]] = []
        self.epochs: list[dict] = []
        self.notes: list[dict] = []

    def request_stop(self) -> None:
        self.stop_event.set()

    def on_event(self, event) -> None:
        """Called by the worker thread for every engine event."""
        with self._lock:
            if isinstance(event, Started):
                self.started_info = asdict(event)
            elif isinstance(event, BatchProgress):
                self.progress = asdict(event)
                self.loss_points.append((event.images_seen, event.loss))
                if len(self.loss_points) > MAX_LOSS_POINTS:
                    self.loss_points = self.loss_points[::2]
            elif isinstance(event, EpochEnd):
                self.epochs.append(asdict(event))
            elif isinstance(event, (Diverged, EarlyStopped, Converged, Stopped)):
                self.notes.append({"kind": type(event).__name__, **asdict(event)})
            # Finished is not recorded here: the status changes only with the saved summary (_work)

    def view(self, position: int | None = None) -> JobView:
        with self._lock:
            return JobView(self.id, self.cfg.label(), self.group, self.status, self.cfg, self.created,
                           self.started, self.ended, position,
                           dict(self.started_info) if self.started_info else None,
                           dict(self.progress) if self.progress else None,
                           list(self.loss_points), [dict(e) for e in self.epochs],
                           [dict(n) for n in self.notes], dict(self.summary) if self.summary else None,
                           self.error, self.phase, self.phase_fraction, self.error_details)

    def _set(self, **fields) -> None:
        with self._lock:
            for k, v in fields.items():
                setattr(self, k, v)


class JobManager:
    """The server's jobs. One instance per server process (the app keeps it in st.cache_resource)."""

    def __init__(self, checkpoints: str | Path, data_dir: str | Path | None = None, max_running: int = 1,
                 keep_finished: int = 50, max_per_owner: int = 1, disk_budget_mb: int = 0):
        self.checkpoints, self.data_dir = Path(checkpoints), data_dir
        self.max_running, self.keep_finished = max_running, keep_finished
        self.max_per_owner, self.disk_budget = max_per_owner, disk_budget_mb * 2**20
        # A server that was killed left its runs 'running': they are interrupted, not running.
        self.recovered = recover_interrupted(self.checkpoints)
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._data_cache: OrderedDict[tuple, ImageData] = OrderedDict()
        self._data_lock = threading.Lock()

    # ---------------------------------------------------------------- submitting and controlling
    def submit(self, cfg: TrainConfig, owner: str = "", group: str = "") -> Job:
        validate(cfg)  # a bad config is refused here, in the caller's thread, with the reason
        check_disk_budget(self.checkpoints, self.disk_budget)
        saved = [r.name for r in list_runs(self.checkpoints)[0]]
        with self._lock:  # a distinct name, so Runs, legends and the job list tell runs apart
            taken = saved + [j.cfg.label() for j in self._jobs.values()]
            job = Job(replace(cfg, name=unique_name(cfg.name or default_name(cfg), taken)), group, owner)
            self._jobs[job.id] = job
            self._trim()
        self._start_queued()
        return job

    def submit_group(self, cfgs: list[TrainConfig], owner: str = "", name: str = "") -> list[Job]:
        for cfg in cfgs:
            validate(cfg)
        group = name or uuid.uuid4().hex[:8]
        return [self.submit(cfg, owner, group) for cfg in cfgs]

    def stop(self, job_id: str) -> None:
        """Stop a running job (it keeps its best model) or cancel a queued one."""
        job = self.get(job_id)
        if job is None:
            return
        with self._lock:
            if job.status == "queued":
                job.status, job.ended = "cancelled", time.time()
                return
        job.request_stop()

    def stop_group(self, group: str) -> None:
        for v in self.views():
            if v.group == group and v.active:
                self.stop(v.id)

    # ---------------------------------------------------------------- reading
    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def view(self, job_id: str) -> JobView | None:
        job = self.get(job_id)
        return job.view(self._position(job)) if job else None

    def views(self, group: str | None = None) -> list[JobView]:
        with self._lock:
            jobs = list(self._jobs.values())
            queued = [j for j in jobs if j.status == "queued"]
        out = [j.view(queued.index(j) + 1 if j in queued else None) for j in jobs]
        return [v for v in out if group is None or v.group == group]

    def running_count(self) -> int:
        with self._lock:
            return sum(j.status == "running" for j in self._jobs.values())

    def wait(self, job_id: str, timeout: float = 60.0) -> JobView:
        """Block until the job is no longer queued or running (for tests and scripts)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = self.view(job_id)
            if v is None or not v.active:
                return v
            time.sleep(0.05)
        raise TimeoutError(f"job {job_id} still {self.view(job_id).status} after {timeout}s")

    # ---------------------------------------------------------------- internals
    def _position(self, job: Job) -> int | None:
        with self._lock:
            queued = [j for j in self._jobs.values() if j.status == "queued"]
        return queued.index(job) + 1 if job in queued else None

    def _trim(self) -> None:
        finished = [k for k, j in self._jobs.items() if j.status not in ACTIVE]
        for k in finished[:max(0, len(finished) - self.keep_finished)]:
            del self._jobs[k]

    def _start_queued(self) -> None:
        """Start queued jobs in order while there is room; a session (owner) with its share of
        running jobs waits, and the next session's job goes first."""
        with self._lock:
            running = [j for j in self._jobs.values() if j.status == "running"]
            per_owner: dict[str, int] = {}
            for j in running:
                per_owner[j.owner] = per_owner.get(j.owner, 0) + 1
            to_start = []
            for job in (j for j in self._jobs.values() if j.status == "queued"):
                if len(running) + len(to_start) >= self.max_running:
                    break
                if job.owner and per_owner.get(job.owner, 0) >= self.max_per_owner:
                    continue
                per_owner[job.owner] = per_owner.get(job.owner, 0) + 1
                to_start.append(job)
            for job in to_start:
                job.status, job.started = "running", time.time()
        for job in to_start:
            threading.Thread(target=self._work, args=(job,), name=f"train-{job.id[:8]}", daemon=True).start()

    def _data_for(self, job: Job) -> ImageData:
        cfg = job.cfg
        key = (cfg.dataset, str(self.data_dir), cfg.folder, cfg.image_size, cfg.val_fraction,
               cfg.train_per_class, cfg.train_fraction, cfg.seed, cfg.backbone)

        def on_progress(text: str, fraction: float | None = None) -> None:  # a download, then features
            job._set(phase=text, phase_fraction=fraction)

        with self._data_lock:  # one load per dataset even when a queue of four starts
            if key not in self._data_cache:
                self._data_cache[key] = prepare_data(cfg, self.data_dir, on_progress=on_progress)
                while len(self._data_cache) > 3:
                    self._data_cache.popitem(last=False)
            self._data_cache.move_to_end(key)
            return self._data_cache[key]

    def _work(self, job: Job) -> None:
        outcome: dict = {"status": "failed"}
        try:
            check_disk_budget(self.checkpoints, self.disk_budget)
            data = self._data_for(job)
            job._set(phase=None, phase_fraction=None)
            summary: RunSummary = run_training(job.cfg, data, checkpoints=self.checkpoints,
                                               on_event=job.on_event, stop=job.stop_event, owner=job.owner)
            outcome = {"summary": summary.to_dict(), "status": summary.status}
        except (ConfigError, DatasetError, ModelError, CheckpointError) as e:
            outcome.update(error=str(e), error_details=getattr(e, "details", ""))
        except (torch.cuda.OutOfMemoryError, MemoryError) as e:
            where = "GPU" if isinstance(e, torch.cuda.OutOfMemoryError) else "the server's"
            outcome["error"] = (f"Out of {where} memory ({str(e).splitlines()[0][:160]}). Try a smaller batch "
                                "size or model, or wait until fewer jobs run. The other jobs go on.")
        except Exception as e:  # a bug: the job fails with the reason, the server goes on
            outcome.update(error=f"{type(e).__name__}: {e}", error_details=traceback.format_exc())
        finally:
            gc.collect()  # a failed job's tensors are garbage now: give their memory back
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            # status, summary and end together
            job._set(ended=time.time(), phase=None, phase_fraction=None, **outcome)
            self._start_queued()

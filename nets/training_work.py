"""Training as a job of the job service (a nets.work.Work): its spec, messages, view (`JobView`) and run."""
from __future__ import annotations

import os
import threading
import time
from dataclasses import asdict, dataclass, field, replace

from nets import settings
from nets.engine.catalog import FOLDER
from nets.engine.config import ConfigError, TrainConfig, validate
from nets.engine.data import DatasetError
from nets.engine import netshape
from nets.engine.models import CNN_MODELS, ModelError
from nets.engine.netbuild import DEFAULT_LAYERS
from nets.engine.naming import default_name, unique_name
from nets.engine.events import (BatchProgress, Converged, Diverged, EarlyStopped, EpochEnd, LayerStats, NewBest, Started,
                                StatsPlan, Stopped)
from nets.engine.stats import Dynamics
from nets.datalab.crossval import StoppedEarly
from nets.experiment import data_key, prepare_data, run_training
from nets.runs import CheckpointError, check_disk_budget, get_run, new_run_id, update_run
from nets.status import Status
from nets.work import GPU_LARGE, GPU_SMALL, WORK_KEY, JobFields, JobRefused, class_path

NOTED = (Diverged, EarlyStopped, Converged, Stopped)  # how a run ended early: kept as the job's notes
REPORTED = (Started, StatsPlan, LayerStats, BatchProgress, EpochEnd, *NOTED)
MAX_LOSS_POINTS = 2000  # older points are thinned: every re-draw sends the whole series
LIVE_RECORDS, LIVE_HISTOGRAMS = 240, 48  # the live copy of the layer statistics (the run's file keeps them all)
SMALL_MODELS = ("mlp", *CNN_MODELS)  # several fit on one GPU
SMALL_CUSTOM_PARAMS = 2_000_000     # a builder network this size or smaller counts as small (cnn5: 0.5 M)


def event_message(event) -> dict | None:
    """An engine event as a plain message; None for those the server does not keep (NewBest holds
    the weights, Finished comes with the outcome)."""
    if not isinstance(event, REPORTED):
        return None
    return {"type": "event", "kind": type(event).__name__, "data": asdict(event)}


@dataclass(kw_only=True)
class JobView(JobFields):
    """A training job as a page reads it: the job's fields (nets.work.JobFields), and its progress."""
    config: TrainConfig
    progress: dict | None                  # the latest BatchProgress
    loss_points: list[tuple[int, float]]   # (images seen, training loss)
    epochs: list[dict]                     # EpochEnd events as dicts
    notes: list[dict]                      # Diverged / EarlyStopped / Stopped events as dicts, with "kind"
    dynamics: Dynamics | None = None       # the layer statistics so far, thinned (nets.engine.stats)

    @property
    def done(self) -> float:
        """How much of the planned training is done, 0-1, from the latest progress."""
        p = self.progress
        if not p:
            return 0.0
        return min(((p["epoch"] - 1) * p["batches"] + p["batch"]) / (p["batches"] * self.config.epochs), 1.0)

    @property
    def run_id(self) -> str | None:
        return self.summary["run_id"] if self.summary else None


class TrainTracker:
    """What a training job has reported: the engine's events, applied under the job's lock."""

    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg
        self.started_info = self.progress = None
        self.loss_points: list[tuple[int, float]] = []
        self.epochs: list[dict] = []
        self.notes: list[dict] = []
        self.dynamics: Dynamics | None = None

    def apply(self, message: dict) -> None:
        kind, data = message.get("kind"), message.get("data") or {}
        if kind == "Started":
            self.started_info = dict(data)
        elif kind == "BatchProgress":
            self.progress = dict(data)
            self.loss_points.append((data["images_seen"], data["loss"]))
            if len(self.loss_points) > MAX_LOSS_POINTS:
                self.loss_points = self.loss_points[::2]
        elif kind == "EpochEnd":
            self.epochs.append(dict(data))
        elif kind == "StatsPlan":
            self.dynamics = Dynamics.from_plan(data)
        elif kind == "LayerStats" and self.dynamics is not None:
            self.dynamics = live_copy(self.dynamics.extended(data))
        elif kind in {t.__name__ for t in NOTED}:
            self.notes.append({"kind": kind, **data})
        # Finished is not recorded here: the status changes only with the saved summary

    def view(self, common: dict) -> JobView:
        return JobView(**common, started_info=dict(self.started_info) if self.started_info else None,
                       config=self.cfg, progress=dict(self.progress) if self.progress else None,
                       loss_points=list(self.loss_points), epochs=[dict(e) for e in self.epochs],
                       notes=[dict(n) for n in self.notes], dynamics=self.dynamics)  # never changed in place


def _halved(n: int, cap: int):
    """Every other index of range(n), and the last, once n passes cap (older records thin out pairwise)."""
    return range(n) if n <= cap else sorted({*range(0, n, 2), n - 1})


def live_copy(d: Dynamics) -> Dynamics:
    """The records a page polls: at most LIVE_RECORDS, histograms for at most LIVE_HISTOGRAMS, the latest always kept."""
    if len(d) <= LIVE_RECORDS and len(d.hist_step) <= LIVE_HISTOGRAMS:
        return d
    return d.take(list(_halved(len(d), LIVE_RECORDS)), list(_halved(len(d.hist_step), LIVE_HISTOGRAMS)))


def stopped_summary(run) -> dict:
    """A summary (nets.experiment.RunSummary's fields) for a run whose worker was ended by a Stop."""
    best = run.info.get("best") or {}
    return {"run_id": run.id, "name": run.name, "status": Status.STOPPED,
            "best_test_acc": best.get("accuracy") if best.get("split") == "test" else None,
            "best_epoch": best.get("epoch"), "seconds": 0.0, "images_per_s": 0.0, "params": run.info.get("params", 0)}


@dataclass
class TrainWork:
    """One configuration trained and saved as a run under `checkpoints` (nets.experiment.run_training)."""
    cfg: TrainConfig
    checkpoints: str
    data_dir: str | None = None
    owner: str = ""
    group: str = ""
    disk_budget: int = 0           # bytes all saved runs may take (0: no limit)
    run_id: str | None = None      # chosen from the configuration when not given
    kind = "train"
    refusal = JobRefused
    _training: bool = field(default=False, repr=False, compare=False)  # its run folder exists: it started

    def __post_init__(self):
        self.checkpoints = str(self.checkpoints)
        self.data_dir = None if self.data_dir is None else str(self.data_dir)
        self.run_id = self.run_id or new_run_id(self.cfg)

    def label(self) -> str:
        return self.cfg.label()

    def spec(self) -> dict:
        return {WORK_KEY: class_path(self), "config": self.cfg.to_dict(),
                "checkpoints": self.checkpoints, "data_dir": self.data_dir, "owner": self.owner,
                "run_id": self.run_id, "disk_budget": self.disk_budget, "group": self.group}

    @classmethod
    def from_spec(cls, spec: dict) -> TrainWork:
        return cls(TrainConfig.from_dict(spec["config"]), spec["checkpoints"], spec.get("data_dir"),
                   spec.get("owner", ""), spec.get("group", ""), spec.get("disk_budget", 0), spec.get("run_id"))

    def tracker(self) -> TrainTracker:
        return TrainTracker(self.cfg)

    def check(self, service) -> None:
        """The one validation on the way to the saved run (fit checks again), the folder rule (only the
        owner's data) and the budget of one job (`service`: the job service, nets.server.admission)."""
        validate(self.cfg, data_root=service.data_dir)
        if self.cfg.dataset == FOLDER and (why := service.folder_problem(self.cfg.folder, self.owner)):
            raise JobRefused(why)
        if problem := service.budget_problem(self.cfg):
            raise JobRefused(problem)

    def unique(self, taken: list[str]) -> TrainWork:
        """A distinct name, so Runs, legends and the job list tell runs apart (its run id follows it)."""
        cfg = replace(self.cfg, name=unique_name(self.cfg.name or default_name(self.cfg), taken))
        return replace(self, cfg=cfg, run_id=None, _training=False)

    def run(self, emit, stop: threading.Event, cache, own_process: bool = False) -> dict:
        cfg = self.cfg
        check_disk_budget(self.checkpoints, self.disk_budget)

        def on_progress(text: str, fraction: float | None = None) -> None:  # a download, then features
            emit({"type": "phase", "text": text, "fraction": fraction})

        if slow := settings.get("NNLAB_TEST_SLOW_LOAD_S"):  # tests: a load that cannot be interrupted
            emit({"type": "phase", "text": "Loading the data (slowly, for a test)", "fraction": None})
            time.sleep(slow)
        try:  # a clean:k step cross-validates k models first (minutes): Stop is heard between their batches
            data = cache.load(data_key(cfg, self.data_dir),
                              lambda: prepare_data(cfg, self.data_dir, on_progress=on_progress, stop=stop))
        except StoppedEarly:
            return {"status": Status.STOPPED, "summary": None}
        emit({"type": "phase", "text": None, "fraction": None})
        slow_epoch = settings.get("NNLAB_TEST_SLOW_EPOCH_S")  # tests: a long step in the loop, after a best model

        def on_event(event) -> None:
            if isinstance(event, Started):
                self._training = True  # its run folder exists
            message = event_message(event)
            if message is not None:
                if isinstance(event, (Started, EpochEnd)):
                    message["saved"] = True  # its run's record changed: a server without its index reads it again
                emit(message)
            if slow_epoch and isinstance(event, NewBest):  # the recorder has saved its weights
                time.sleep(slow_epoch)

        summary = run_training(cfg, data, checkpoints=self.checkpoints, on_event=on_event, stop=stop,
                               owner=self.owner, run_id=self.run_id, group=self.group)
        return {"summary": summary.to_dict(), "status": summary.status}

    def failure(self, error: Exception) -> dict | None:
        if self._training and self.folder_gone(error):
            return {"error": "This run's folder was deleted while it trained, so the job ended; nothing of it was "
                             "kept."}
        if isinstance(error, (ConfigError, DatasetError, ModelError, CheckpointError)):
            return {"error": str(error), "error_details": getattr(error, "details", "")}
        return None

    def folder_gone(self, error: Exception) -> bool:
        """The job's run folder vanished under it (deleted while it trained): a missing file, and no folder."""
        if not isinstance(error, (OSError, CheckpointError)):
            return False
        return not os.path.isdir(os.path.join(self.checkpoints, self.run_id))

    def lost(self, error: str, stopped: bool) -> dict:
        """Its run failed with the job, or (`stopped`) is stopped with the best weights saved so far (a
        run folder's weights are crash-consistent)."""
        try:
            run = get_run(self.checkpoints, self.run_id)
            if stopped:
                update_run(run, status=Status.STOPPED, note="Stopped by request in the middle of a step: its "
                           "worker was ended at once. The best model up to then is kept.")
            else:
                update_run(run, status=Status.FAILED, error=error)
        except CheckpointError:
            run = None  # it died before the run was created
        if stopped:
            return {"status": Status.STOPPED, "summary": stopped_summary(run) if run else None}
        return {"status": Status.FAILED, "error": error}

    def interrupted(self) -> bool:
        """Its run is 'interrupted' (as start-up recovery would mark it), keeping the best weights it saved."""
        try:
            run = get_run(self.checkpoints, self.run_id)
            if run.info.get("status") in (Status.RUNNING, Status.STOPPED):
                update_run(run, status=Status.INTERRUPTED, note="The server stopped while this run trained; the "
                           "best model up to then is kept.")
                return True
        except (CheckpointError, OSError, KeyError, TypeError):
            pass  # it had not created its run yet, or it is gone
        return False

    def small(self) -> bool:
        """Whether several of this job fit one GPU: the course's own models, or a builder network
        no larger than them (counted by arithmetic, nothing built)."""
        if self.cfg.model != "custom":
            return self.cfg.model in SMALL_MODELS
        cfg = self.cfg
        return netshape.analyse(cfg.layers or DEFAULT_LAYERS, cfg.input_shape(), cfg.num_classes() or 2).params \
            <= SMALL_CUSTOM_PARAMS

    def resources(self, cluster_gpus: float, cpus_per_job: float) -> dict:
        """No GPU on a cluster without any or for device=cpu; half of one for a small model."""
        if cluster_gpus <= 0 or self.cfg.device == "cpu":
            gpus = 0.0
        else:
            gpus = GPU_SMALL if self.small() and not self.cfg.backbone else GPU_LARGE
        return {"num_cpus": cpus_per_job, "num_gpus": gpus}

"""The feature projector's computations as a job of the job service (a nets.work.Work): its spec, checks, view and run.

A projector job saves no run; what it computes is stored beside the run it looks at (nets.runs.features_cache,
nets.runs.epoch_layouts), where the page reads it. Part "test": every test image's features, their kNN
purity and one projection (PCA, UMAP or t-SNE with its parameters); part "epochs": the per-epoch subset's
aligned layouts. Minutes of CPU for a ResNet on 10,000 images, so never in the web process: a worker like
training's, under the student's limit of active jobs, stoppable (the pool ends a worker that does not let
go in time). At the door (`check`): the run must be in this server's run folder and one the asking
session may see (its Access travels in the spec), and the method and parameters in range.
"""
from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nets.engine.config import ConfigError
from nets.engine.data import DatasetError
from nets.files import CheckpointError
from nets.inspect.features import FeatureError
from nets.inspect.projection import TITLES, ProjectionError, full_params, missing_reason
from nets.runs.access import Access
from nets.runs.epoch_features import feature_epochs
from nets.runs.epoch_layouts import load_layouts, run_layouts
from nets.runs.features_cache import missing, run_data, run_features, run_projection, run_purity
from nets.runs.folder import Run, get_run, no_weights
from nets.status import Status
from nets.work import WORK_KEY, JobFields, JobRefused, RunlessWork, class_path

KIND = "projector"
PARTS = ("test", "epochs")   # every test image's features and projection; the per-epoch subset's layouts


@dataclass(kw_only=True)
class ProjectorView(JobFields):
    """A projector job as a page reads it: the job's fields and what it was asked for."""
    run: str
    part: str
    method: str
    params: dict = field(default_factory=dict)


class ProjectorTracker:
    """A projector job reports only phases (the job's own): its view is what it was asked."""

    def __init__(self, work: ProjectorWork):
        self.work = work

    def apply(self, message: dict) -> None:
        pass

    def view(self, common: dict) -> ProjectorView:
        w = self.work
        return ProjectorView(**common, run=w.of_run, part=w.part, method=w.method, params=dict(w.params))


def needed(run: Run, part: str, method: str, params: dict) -> bool:
    """Whether a job has anything to compute for this request (the page asks before it submits one)."""
    if part == "epochs":
        return bool(feature_epochs(run)) and load_layouts(run, method, **params) is None
    return bool(missing(run, method, **params))


@dataclass
class ProjectorWork(RunlessWork):
    """Compute and store what the projector draws for one run, part, method and parameters."""
    root: str                    # the server's run folder (checked against the service's)
    of_run: str                  # the run's id (`run` is the Work's method)
    part: str                    # one of PARTS
    method: str                  # one of nets.inspect.projection.METHODS
    params: dict = field(default_factory=dict)
    viewer: dict = field(default_factory=dict)   # the asking session's nets.runs.access.Access, as a dict
    data_dir: str | None = None
    kind = KIND
    refusal = JobRefused
    known = (CheckpointError, DatasetError, FeatureError, ProjectionError, ConfigError)

    def __post_init__(self):
        self.root, self.params = str(self.root), dict(self.params)
        self.data_dir = None if self.data_dir is None else str(self.data_dir)

    def label(self) -> str:
        what = "features over training" if self.part == "epochs" else "features"
        return f"feature projector · {self.of_run} · {what} · {TITLES.get(self.method, self.method)}"

    def spec(self) -> dict:
        return {WORK_KEY: class_path(self), "root": self.root, "run": self.of_run, "part": self.part,
                "method": self.method, "params": self.params, "viewer": self.viewer, "data_dir": self.data_dir}

    @classmethod
    def from_spec(cls, spec: dict) -> ProjectorWork:
        return cls(spec["root"], spec["run"], spec["part"], spec["method"], spec.get("params") or {},
                   spec.get("viewer") or {}, spec.get("data_dir"))

    @classmethod
    def asked_by(cls, access: Access, root, run_id: str, part: str, method: str, params: dict,
                 data_dir=None) -> ProjectorWork:
        return cls(str(root), run_id, part, method, params, asdict(access), data_dir)

    def tracker(self) -> ProjectorTracker:
        return ProjectorTracker(self)

    def check(self, service) -> None:
        """Refused (JobRefused, in words): another folder than the server's runs, a run this session may not
        see (told apart from a missing one by nothing), a run without weights, an unknown part or method, a
        missing package, parameters out of range."""
        if Path(self.root).resolve() != Path(service.checkpoints).resolve():
            raise JobRefused("The projector looks only at this server's runs.")
        try:
            run = get_run(self.root, self.of_run)
            viewer = Access(**self.viewer)
        except (CheckpointError, TypeError):
            run = viewer = None
        if run is None or not viewer.can_view(run.info):
            raise JobRefused(f"There is no run '{self.of_run}' for you to look at.")
        if not run.has_model:
            raise JobRefused(no_weights(f"Run '{self.of_run}'"))
        if self.part not in PARTS:
            raise JobRefused(f"Unknown part '{self.part}': {', '.join(PARTS)}.")
        if (reason := missing_reason(self.method)) is not None:  # an unknown method, or its package missing
            raise JobRefused(reason)
        try:
            self.params = full_params(self.method, **self.params)
        except ProjectionError as e:
            raise JobRefused(str(e)) from e

    def run(self, emit, stop: threading.Event, cache, own_process: bool = False) -> dict:
        run = get_run(self.root, self.of_run)

        def phase(text: str | None, fraction: float | None = None) -> None:
            emit({"type": "phase", "text": text, "fraction": fraction})

        if self.part == "epochs":
            lay = run_layouts(run, self.method, stop,
                              lambda i, n: phase(f"Projecting epoch {i + 1} of {n} with {TITLES[self.method]}",
                                                 i / max(1, n)), **self.params)
            return {"status": Status.STOPPED if lay is None else Status.COMPLETED}
        phase("Loading the test images")
        cfg = run.config
        data = cache.load(("projector", cfg.dataset, str(self.data_dir), cfg.folder, cfg.image_size),
                          lambda: run_data(run, self.data_dir))
        phase(f"Computing the features of {len(data.y_test):,} test images")
        f = run_features(run, data=data)
        for text, compute in (("Measuring how often neighbours share a class", lambda: run_purity(run, f)),
                              (f"Projecting {len(f):,} points with {TITLES[self.method]}",
                               lambda: run_projection(run, self.method, f, **self.params))):
            if stop.is_set():
                return {"status": Status.STOPPED}
            phase(text)
            compute()
        phase(None)
        return {"status": Status.COMPLETED}

    def resources(self, cluster_gpus: float, cpus_per_job: float) -> dict:
        return {"num_cpus": cpus_per_job, "num_gpus": 0.0}  # features on the CPU: seconds to minutes, no GPU held

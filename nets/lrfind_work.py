"""The learning-rate finder as a job of the job service (a nets.work.Work): its spec, messages, view (`LRFindView`) and run.

A finder job saves no run (like nets.scratch.lab.LabWork): it loads the data as training does, builds
the configuration's model, and runs nets.engine.lrfind.range_test on it; each step's LRPoint travels as
a message, and the finished curve as the last one. The tracker turns that curve into the four
suggestions, their span and the words (nets.coach.lr_suggest) once, under the job's lock.
"""
from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field, replace

from nets.coach.lr_suggest import agreement, best, suggest, words
from nets.engine import datamod
from nets.engine.catalog import FOLDER
from nets.engine.config import ConfigError, TrainConfig, validate
from nets.engine.data import DatasetError
from nets.engine.device import pick_device
from nets.engine.events import LRPoint
from nets.engine.lrfind import LRCurve, range_test
from nets.engine.models import ModelError
from nets.experiment import data_key, initial_model, prepare_data
from nets.status import Status
from nets.training_work import TrainWork
from nets.work import GPU_LARGE, GPU_SMALL, WORK_KEY, JobFields, JobRefused, RunlessWork, class_path

KIND = "lrfind"


@dataclass(kw_only=True)
class LRFindView(JobFields):
    """A finder job as a page reads it: the job's fields, the points so far, and once done the curve,
    the suggestions (rule → lr or None), where they agree (lo, hi), the best rule's rate and the words."""
    config: TrainConfig
    points: dict                          # {"lrs", "losses", "smooth"}: lists of floats, one per step so far
    curve: LRCurve | None = None          # when it finished (or was stopped with points)
    suggestions: dict = field(default_factory=dict)
    band: tuple | None = None             # agreement(suggestions): the span of the rules' rates
    best: float | None = None             # the rate "Use" offers (nets.coach.lr_suggest.best)
    words: str = ""                       # what the curve shows, in a sentence or two (plain text)

    @property
    def steps(self) -> int:
        return len(self.points["lrs"])


class LRFindTracker:
    """What a finder job has reported: its points, then its curve and what the rules make of it."""

    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg
        self.started_info: dict | None = None
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self.smooth: list[float] = []
        self.curve: LRCurve | None = None
        self.suggestions: dict = {}
        self.band = self.best = None
        self.words = ""

    def apply(self, message: dict) -> None:
        if message.get("type") != KIND:
            return
        op = message.get("op")
        if op == "started":
            self.started_info = dict(message["info"])
        elif op == "point":
            p = message["point"]
            self.lrs.append(float(p["lr"]))
            self.losses.append(float(p["loss"]))
            self.smooth.append(float(p["smooth"]))
        elif op == "curve":
            self.curve = LRCurve.from_dict(message["curve"])
            self.suggestions = suggest(self.curve)
            self.band, self.best = agreement(self.suggestions), best(self.suggestions)
            self.words = words(self.curve, self.suggestions)

    def view(self, common: dict) -> LRFindView:
        return LRFindView(**common, started_info=dict(self.started_info) if self.started_info else None,
                          config=self.cfg, points={"lrs": list(self.lrs), "losses": list(self.losses),
                                                   "smooth": list(self.smooth)},
                          curve=self.curve, suggestions=dict(self.suggestions), band=self.band, best=self.best,
                          words=self.words)  # the curve is never changed in place


def message(op: str, **fields) -> dict:
    return {"type": KIND, "op": op, **fields}


@dataclass
class LRFindWork(RunlessWork):
    """A range test of a training configuration as a job (nets.work.Work): it saves no run; its curve
    travels in its messages. Admitted under the budget of one epoch of the same training. Its configuration
    is `config`, not `cfg`: nets.server.waits reads a work's `cfg` as a training's (a whole run's time)."""
    config: TrainConfig
    data_dir: str | None = None
    owner: str = ""                 # for the folder rule: only the owner's uploaded images
    kind = KIND
    refusal = JobRefused
    known = (ConfigError, DatasetError, ModelError)

    def __post_init__(self):
        self.data_dir = None if self.data_dir is None else str(self.data_dir)

    def label(self) -> str:
        return f"learning-rate finder · {self.config.label()}"

    def spec(self) -> dict:
        return {WORK_KEY: class_path(self), "config": self.config.to_dict(), "data_dir": self.data_dir,
                "owner": self.owner}

    @classmethod
    def from_spec(cls, spec: dict) -> LRFindWork:
        return cls(TrainConfig.from_dict(spec["config"]), spec.get("data_dir"), spec.get("owner", ""))

    def tracker(self) -> LRFindTracker:
        return LRFindTracker(self.config)

    def check(self, service) -> None:
        """Training's checks (the configuration, the folder rule), and the budget of a 1-epoch job."""
        validate(self.config, data_root=service.data_dir)
        if self.config.dataset == FOLDER and (why := service.folder_problem(self.config.folder, self.owner)):
            raise JobRefused(why)
        if problem := service.budget_problem(replace(self.config, epochs=1)):
            raise JobRefused(problem)

    def run(self, emit, stop: threading.Event, cache, own_process: bool = False) -> dict:
        cfg = self.config

        def on_progress(text: str, fraction: float | None = None) -> None:
            emit({"type": "phase", "text": text, "fraction": fraction})

        if cfg.data_mod and (mod := datamod.parse(cfg.data_mod)).clean:  # the rate is found on the set before
            cfg = replace(cfg, data_mod=datamod.text(replace(mod, clean=0)))  # cleaning, not after k trainings
        data = cache.load(data_key(cfg, self.data_dir),  # training's key: shared data
                          lambda: prepare_data(cfg, self.data_dir, on_progress=on_progress))
        emit({"type": "phase", "text": None, "fraction": None})
        model = initial_model(cfg, data)
        emit(message("started", info={"device": pick_device(cfg.device).type,
                                      "params": sum(p.numel() for p in model.parameters())}))

        def on_event(event) -> None:
            if isinstance(event, LRPoint):
                emit(message("point", point=asdict(event)))

        curve = range_test(model, data, cfg, on_event=on_event, stop=stop)
        emit(message("curve", curve=curve.to_dict()))
        return {"status": Status.STOPPED if curve.stopped == "stop" else Status.COMPLETED}

    def resources(self, cluster_gpus: float, cpus_per_job: float) -> dict:
        """Training's request for the same configuration: no GPU without one or for device=cpu, half for a small model."""
        if cluster_gpus <= 0 or self.config.device == "cpu":
            gpus = 0.0
        else:
            small = TrainWork(self.config, "", run_id="-").small()  # training's rule (nothing built or saved)
            gpus = GPU_SMALL if small and not self.config.backbone else GPU_LARGE
        return {"num_cpus": cpus_per_job, "num_gpus": gpus}

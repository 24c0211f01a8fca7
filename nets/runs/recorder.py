"""The training listener that keeps a run folder up to date while `fit` trains."""
from __future__ import annotations

from dataclasses import asdict

from nets.engine.events import Diverged, EpochEnd, Finished, LayerStats, NewBest, Started, StatsPlan, Stopped
from nets.engine.stats import Dynamics, concat
from nets.runs.dynamics import write_chunk
from nets.runs.epoch_features import EpochFeatures
from nets.runs.folder import Run, save_best, update_run


class RunRecorder:
    """Started, the best weights and each epoch's numbers go into the run as they come; the layer
    statistics are held for the epoch and written as its chunk with the epoch's history (a part
    chunk when the run is stopped or diverges mid-epoch). Given the model being trained and its data
    (an image model), each epoch's penultimate features of a test subset too (nets.runs.epoch_features)."""

    def __init__(self, run: Run, model=None, data=None):
        self.run = run
        self.features: EpochFeatures | None = None
        if model is not None and data is not None and not run.config.backbone:
            try:
                self.features = EpochFeatures(run, model, data)
            except ValueError:  # a model without a Linear layer has no penultimate features
                pass
        self.plan: Dynamics | None = None   # no records: the layers and sites
        self.parts: list[Dynamics] = []     # this epoch's records so far, joined once when written
        self.epoch = 1

    def _write(self, epoch: int, part: bool = False, **changes) -> None:
        write_chunk(self.run, concat([self.plan, *self.parts]), epoch, part, **changes)
        self.parts = []

    def __call__(self, event) -> None:
        if isinstance(event, Started):
            update_run(self.run, device=event.device, params=event.params)
        elif isinstance(event, StatsPlan):
            self.plan = Dynamics.from_plan(asdict(event))
        elif isinstance(event, LayerStats) and self.plan is not None:
            self.parts.append(Dynamics(**self.plan.plan(), **{k: v for k, v in asdict(event).items()}))
        elif isinstance(event, NewBest):
            save_best(self.run, event.state_dict,
                      best={"epoch": event.epoch, "accuracy": event.accuracy, "split": event.split})
        elif isinstance(event, EpochEnd):
            if self.features is not None:  # before the record: the index then counts the file's size
                self.features(event)
            history = self.run.info["history"] + [asdict(event)]
            if self.plan is None:
                update_run(self.run, history=history)
            else:
                self._write(event.epoch, history=history)
            self.epoch = event.epoch + 1
        elif isinstance(event, (Stopped, Diverged, Finished)):
            if self.features is not None:
                self.features.close()
            if self.parts:
                self._write(self.epoch, part=True)

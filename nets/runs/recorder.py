"""The training listener that keeps a run folder up to date while `fit` trains."""
from __future__ import annotations

from dataclasses import asdict

from nets.engine.events import Diverged, EpochEnd, Finished, LayerStats, NewBest, Started, StatsPlan, Stopped
from nets.engine.stats import Dynamics
from nets.runs.dynamics import write_chunk
from nets.runs.folder import Run, save_best, update_run


class RunRecorder:
    """Started, the best weights and each epoch's numbers go into the run as they come; the layer
    statistics are held for the epoch and written as its chunk with the epoch's history (a part
    chunk when the run is stopped or diverges mid-epoch)."""

    def __init__(self, run: Run):
        self.run = run
        self.stats: Dynamics | None = None
        self.epoch = 1

    def __call__(self, event) -> None:
        if isinstance(event, Started):
            update_run(self.run, device=event.device, params=event.params)
        elif isinstance(event, StatsPlan):
            self.stats = Dynamics.from_plan(asdict(event))
        elif isinstance(event, LayerStats) and self.stats is not None:
            self.stats = self.stats.extended(asdict(event))
        elif isinstance(event, NewBest):
            save_best(self.run, event.state_dict,
                      best={"epoch": event.epoch, "accuracy": event.accuracy, "split": event.split})
        elif isinstance(event, EpochEnd):
            history = self.run.info["history"] + [asdict(event)]
            if self.stats is None:
                update_run(self.run, history=history)
            else:
                write_chunk(self.run, self.stats, event.epoch, history=history)
                self.stats = self.stats.take([])
            self.epoch = event.epoch + 1
        elif isinstance(event, (Stopped, Diverged, Finished)) and self.stats is not None and len(self.stats):
            write_chunk(self.run, self.stats, self.epoch, part=True)
            self.stats = self.stats.take([])

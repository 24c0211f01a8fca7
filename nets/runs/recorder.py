"""The training engine's listener that keeps a run folder up to date while `fit` trains."""
from __future__ import annotations

from dataclasses import asdict

from nets.engine.events import EpochEnd, NewBest, Started
from nets.runs.folder import Run, save_best, update_run


class RunRecorder:
    def __init__(self, run: Run):
        self.run = run

    def __call__(self, event) -> None:
        if isinstance(event, Started):
            update_run(self.run, device=event.device, params=event.params)
        elif isinstance(event, NewBest):
            save_best(self.run, event.state_dict,
                      best={"epoch": event.epoch, "accuracy": event.accuracy, "split": event.split})
        elif isinstance(event, EpochEnd):
            update_run(self.run, history=self.run.info["history"] + [asdict(event)])

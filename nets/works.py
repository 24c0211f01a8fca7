"""The works the job service runs by name: training and the NumPy lab, each a nets.work.Work."""
from __future__ import annotations

from nets.scratch.lab import LabWork
from nets.training_work import TrainWork

WORKS = {TrainWork.kind: TrainWork, LabWork.kind: LabWork}  # what submit (a TrainConfig) and submit_lab build

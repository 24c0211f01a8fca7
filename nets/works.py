"""The works the job service runs by name: training, the NumPy lab and the learning-rate finder, each a nets.work.Work."""
from __future__ import annotations

from nets.lrfind_work import LRFindWork
from nets.scratch.lab import LabWork
from nets.training_work import TrainWork

WORKS = {TrainWork.kind: TrainWork, LabWork.kind: LabWork, LRFindWork.kind: LRFindWork}  # what the service builds by kind

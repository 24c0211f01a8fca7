"""The works the job service runs by name: training, the NumPy lab, the learning-rate finder and the feature projector, each a nets.work.Work."""
from __future__ import annotations

from nets.lrfind_work import LRFindWork
from nets.projector_work import ProjectorWork
from nets.scratch.lab import LabWork
from nets.training_work import TrainWork

WORKS = {TrainWork.kind: TrainWork, LabWork.kind: LabWork, LRFindWork.kind: LRFindWork,
         ProjectorWork.kind: ProjectorWork}  # what the service builds by kind

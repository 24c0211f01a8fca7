"""The model a configuration starts from: built, seeded and initialised as training draws it; ImageNet weights that cannot be had, in words."""
from __future__ import annotations

import torch

from nets.engine.config import TrainConfig
from nets.engine.data import DatasetError
from nets.engine.init import apply_init
from nets.engine.models import ModelError, build_model


def weights_problem(e: Exception) -> DatasetError:
    """Missing or unusable ImageNet weights, in one sentence and what to do; the rest in details."""
    first = str(e).split(". ")[0].rstrip(".")
    return DatasetError(f"{first}. Upload a .pth state dict on the Pretrained ResNets page, or train once "
                        "while online so that they download.", str(e))


def initial_model(cfg: TrainConfig, data) -> torch.nn.Module:
    """The configuration's model with the initial weights training draws: the same seed gives the same
    weights; ImageNet weights that cannot be had are a clear error (training, the finder and the data lab's
    cross-validation folds start here). A model with a `prepare(data)` method (nets.engine.airbench) has
    it called last, with the training data: the hook for layers computed from the training images."""
    torch.manual_seed(cfg.seed)
    try:
        model = build_model(cfg.model, data.input_shape, data.num_classes, **cfg.model_kwargs())
    except ModelError as e:
        from nets.engine.pretrained import PretrainedError
        if isinstance(e.__cause__, PretrainedError):
            raise weights_problem(e.__cause__) from e
        raise
    apply_init(model, cfg.init, cfg.activation)  # "kaiming"/"xavier": drawn again under the same seed
    if callable(getattr(model, "prepare", None)):
        model.prepare(data)  # a layer set from the training images (airbench's whitening), once, before training
    return model

"""The Data lab's experiment: the clean configuration, its modified twin and the cleaned one, and what each gives the model per class.

A lesson is a TrainConfig (the student's dataset, model and epochs) and one modification of its training set
(nets.engine.datamod's text, or a smaller `train_per_class`): `pair()` makes the clean and the modified
configuration, trained side by side as one group; `cleaned()` adds a clean:k step to the modified one
(cross-validation, cleanlab, retrain without the flagged images). `class_counts()` is the training set each
is given, per class, before anything trains: the sliders' effect, counted.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd
import torch

from nets.engine import datamod
from nets.engine.config import TrainConfig
from nets.engine.data import ImageData

# The lesson's starting point: the bundled Fashion-MNIST (offline), LeNet, Adam. The best epoch is chosen on a
# clean validation tenth, never on the test set that measures what the modification cost.
BASE = TrainConfig(dataset="fashion-mnist-mini", model="lenet", optimizer="adam", lr=1e-3, epochs=5, batch_size=64,
                   val_fraction=0.1)
LESSONS = {"noise": "Label noise: flipped labels", "imbalance": "Imbalance: few images of some classes",
           "fewer": "Fewer images of every class"}
PAIR_FLIP, SYMMETRIC = "one class to another", "at random"
# A pair a student would mix up: a 7 written like a 1; a shirt and a T-shirt; a cat and a dog.
PAIRS = {"mnist": (7, 1), "fashion-mnist": (6, 0), "cifar10": (3, 5)}


def default_pair(dataset: str, num_classes: int) -> tuple[int, int]:
    """The (from, to) classes a noise lesson starts with on this dataset."""
    a, b = PAIRS.get(dataset.removesuffix("-mini"), (min(1, num_classes - 1), 0))
    return (a, b) if max(a, b) < num_classes else (min(1, num_classes - 1), 0)
FOLDS = (3, 5)


@dataclass(frozen=True)
class Lesson:
    """What the student chose: the lesson and its sliders."""
    kind: str                              # a key of LESSONS
    pct: float = 30.0                      # noise: the share flipped; imbalance: the share kept
    classes: tuple[int, ...] = ()          # imbalance: the classes cut down
    pair: tuple[int, int] | None = None    # noise: (from, to); None: symmetric
    per_class: int = 50                    # fewer: images kept per class

    def data_mod(self) -> str:
        """The modification's text (nets.engine.datamod); "" for "fewer" (train_per_class does it)."""
        if self.kind == "noise":
            flip = (self.pair[0], self.pair[1], self.pct) if self.pair else (None, None, self.pct)
            return datamod.text(datamod.DataMod(flips=(flip,)))
        if self.kind == "imbalance":
            return datamod.text(datamod.DataMod(keep=(tuple(sorted(self.classes)), self.pct))) if self.classes else ""
        return ""


def pair(base: TrainConfig, lesson: Lesson) -> tuple[TrainConfig, TrainConfig]:
    """(clean, modified): the same training, the second on the modified set. Names come from naming."""
    clean = replace(base, data_mod="", name="")
    if lesson.kind == "fewer":  # fewer than the clean set's own subset, if it has one
        return clean, replace(clean, train_per_class=min(lesson.per_class, base.train_per_class or lesson.per_class))
    return clean, replace(clean, data_mod=lesson.data_mod())


def cleaned(modified: TrainConfig, k: int) -> TrainConfig:
    """The modified configuration retrained without the labels cleanlab flags by k-fold cross-validation."""
    mod = datamod.parse(modified.data_mod)
    return replace(modified, data_mod=datamod.text(replace(mod, clean=k)), name="")


def class_counts(clean: ImageData, modified: ImageData) -> pd.DataFrame:
    """Per class: the clean set's training images, the images the modified set gives the model with that
    label, and how many of those labels are flipped (wrong)."""
    k = clean.num_classes
    given = modified.y_train
    true = modified.y_train_true if modified.y_train_true is not None else given
    return pd.DataFrame({"class": list(clean.classes), "clean": torch.bincount(clean.y_train, minlength=k).tolist(),
                         "given": torch.bincount(given, minlength=k).tolist(),
                         "flipped in": torch.bincount(given[given != true], minlength=k).tolist()})

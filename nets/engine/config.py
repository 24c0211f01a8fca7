"""TrainConfig: everything that defines a run, with named presets and checks that explain.

A checkpoint stores its TrainConfig, so a saved run can always be rebuilt and compared.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields, replace

from nets.engine.augment import AUGMENTATIONS
from nets.engine.catalog import DATASETS, FOLDER, FolderError, folder_inside, input_shape, num_classes
from nets.engine.datamod import DataModError, canonical, parse
from nets.engine.errors import ConfigError  # noqa: F401 (where every caller imports it from)
from nets.engine.frozen_features import FEATURE_DIM
from nets.engine import netshape
from nets.engine.models import MODELS, model_options
from nets.engine.netbuild import DEFAULT_LAYERS
from nets.engine.netspec import from_text, normal
from nets.engine.naming import LOSS_NAMES, OPTIMIZER_NAMES, default_name
from nets.engine.options import OPTIONS, SETTINGS

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
LOSSES = ("ce", "mse")  # cross-entropy; squared error between softmax output and one-hot target
SCHEDULES = ("none", "step", "cosine", "triangle")  # triangle: per step (nets.engine.optim.triangle)
INITS = ("", "kaiming", "xavier", "dirac")  # "": PyTorch's default initialisation; dirac: convolutions as identities


@dataclass(frozen=True)
class TrainConfig:
    # data
    dataset: str = "mnist-mini"
    folder: str = ""              # for dataset 'folder': one sub-folder per class
    image_size: int = 32          # for dataset 'folder': images are resized to this square
    val_fraction: float = 0.0     # carved from the training data; picks the best model when > 0
    train_per_class: int = 0      # class-balanced subset for small-data experiments (0: all)
    train_fraction: float = 1.0   # or this fraction of every class
    data_mod: str = ""            # the training set modified: keep;flip;clean steps (nets.engine.datamod; "": none)
    # model (None / empty: the model's own default); kinds, ranges and labels: nets.engine.options
    model: str = "lenet"
    hidden: tuple[int, ...] = ()
    channels: tuple[int, ...] = ()
    fc: tuple[int, ...] = ()
    activation: str = ""
    dropout: float | None = None
    batch_norm: bool = False
    small_stem: bool | None = None
    block_dropout: float = 0.0    # ResNets: dropout after every residual block
    pretrained: bool = False      # ResNets: start from ImageNet weights (a new head for our classes)
    train_blocks: int = -1        # ResNets: train only the last k residual blocks and the head (-1: all)
    input_size: int = 0           # ResNets: resize images to this inside the model (0: as they are);
                                  # with a backbone: the size images are resized to for it (0: 224)
    backbone: str = ""            # train on frozen features of this ImageNet network (nets.engine.pretrained.ARCHES)
    layers: tuple[dict, ...] = () # custom: the network as layer dicts (nets.engine.netspec); empty: Flatten → Linear
    whiten: bool = True           # airbench: the first layer a frozen patch-whitening conv (False: trainable)
    bn_fp32: bool = True          # airbench: batch norm in float32 under mixed precision
    # optimisation
    optimizer: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0
    loss: str = "ce"
    epochs: int = 5
    batch_size: int = 64
    schedule: str = "none"
    step_size: int = 5            # for schedule 'step': epochs between decays
    gamma: float = 0.1            # for schedule 'step': decay factor
    clip_grad: float = 0.0        # max gradient norm (0: off)
    patience: int = 0             # early stopping: epochs without improvement (0: off)
    converge_patience: int = 0    # stop when the training loss improved by < converge_delta this many epochs running
    converge_delta: float = 1e-3
    augment: tuple[str, ...] = () # names from nets.engine.augment.AUGMENTATIONS
    seed: int = 0
    init: str = ""                # "" (PyTorch's default), "kaiming" or "xavier": weights drawn again before training;
                                  # "dirac": each conv passes its input channels through (nets.engine.init)
    # the CIFAR-10 speed runs' tricks (the others: model airbench, init dirac, augment flip_alt and
    # translate, schedule triangle); each off by default
    label_smoothing: float = 0.0  # train against (1 − ε)·one-hot + ε/K (nets.engine.losses)
    lookahead: int = 0            # Lookahead every k steps: the slow weights move alpha of the way to the
                                  # fast ones, which restart from them (nets.engine.optim.Lookahead; 0: off)
    lookahead_alpha: float = 0.5
    lookahead_ramp: bool = False  # alpha falls from 1 to lookahead_alpha as (step/steps)³ (airbench's warm-up)
    tta: int = 0                  # test-time augmentation of the test set after the last epoch: 0 none, 1 mirror,
                                  # 2 mirror and 1-pixel translations (nets.engine.evaluate.tta_views)
    # machinery
    device: str = "auto"          # auto picks cuda, then mps, then cpu
    amp: bool = True              # mixed precision on CUDA only
    channels_last: bool | None = None  # None: on for convolutional models
    log_every: int = 50           # batches between progress events (each one syncs the device)
    log_seconds: float = 0.25     # ...or sooner, once this many seconds passed (0: by batches only)
    stats_every: int = 10         # layer statistics every this many steps (0: off; nets.engine.probe)
    name: str = ""                # a label for the run; defaults to nets.engine.naming.default_name

    def __post_init__(self):
        # each layer as a read-only, hashable netspec.Layer with its defaults, so the config can key a
        # cache; what is not a layer stays as it is, for validate() to name
        if isinstance(self.layers, (list, tuple)):
            object.__setattr__(self, "layers", tuple(normal(d) for d in self.layers))
        if self.data_mod and isinstance(self.data_mod, str):  # one text per modification ('flip: 30' → 'flip:30')
            try:
                object.__setattr__(self, "data_mod", canonical(self.data_mod))
            except DataModError:
                pass  # validate() names the problem

    def is_set(self, name: str) -> bool:
        """Whether a setting differs from its default (an unset model option: the model's own)."""
        return getattr(self, name) != DEFAULTS[name]

    def model_kwargs(self) -> dict:
        """The model options that were set and the model takes, for models.build_model. With a
        backbone, input_size is the backbone's, not the model's."""
        kwargs = {}
        for k in model_options(self.model):
            if self.is_set(k) and not (k == "input_size" and self.backbone):
                value = getattr(self, k)
                kwargs[k] = tuple(value) if isinstance(value, list) else value
        return kwargs

    def input_shape(self) -> tuple[int, int, int]:
        """What the model sees: the dataset's images, or a backbone's features (FEATURE_DIM×1×1)."""
        return (FEATURE_DIM, 1, 1) if self.backbone else input_shape(self.dataset, self.image_size)

    def num_classes(self) -> int:
        """The dataset's class count; a folder's own (0 while no folder is chosen)."""
        return num_classes(self.dataset, self.folder or None)

    def label(self) -> str:
        return self.name or default_name(self)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """Rebuild from a saved dict; unknown keys (from a newer version) are ignored."""
        known = {f.name: f for f in fields(cls)}
        kwargs = {}
        for k, v in d.items():
            if k in known:
                kwargs[k] = tuple(v) if isinstance(v, list) else v
        return cls(**kwargs)


def validate(cfg: TrainConfig, data_root=None) -> TrainConfig:
    """Raise ConfigError with a plain explanation for settings that cannot train. Given `data_root`
    (the job service, the worker and the command line pass theirs), a folder dataset must also be a
    folder inside it: nets.engine.catalog.folder_inside, the one rule, which load_dataset applies
    again wherever the images are read."""
    problems = []

    def choice(value, options, what):
        if value not in options:
            problems.append(f"{what} '{value}' is not one of {', '.join(o or 'empty (the default)' for o in options)}")

    choice(cfg.dataset, DATASETS, "dataset")
    choice(cfg.model, tuple(MODELS), "model")
    choice(cfg.optimizer, OPTIMIZERS, "optimizer")
    choice(cfg.loss, LOSSES, "loss")
    choice(cfg.schedule, SCHEDULES, "schedule")
    choice(cfg.init, INITS, "initialisation")
    for name, option in OPTIONS.items():
        if cfg.is_set(name) and (why := option.problem(getattr(cfg, name))):
            problems.append(why)
    for a in cfg.augment:
        choice(a, tuple(AUGMENTATIONS), "augmentation")
    if cfg.dataset == FOLDER and not cfg.folder:
        problems.append("the 'folder' dataset needs a folder of images with one sub-folder per class")
    elif cfg.dataset == FOLDER and data_root is not None:
        try:
            folder_inside(data_root, cfg.folder)
        except FolderError as e:
            problems.append(str(e).rstrip("."))
    for name, setting in SETTINGS.items():
        if why := setting.problem(getattr(cfg, name)):
            problems.append(why)
    if cfg.data_mod:  # a folder's class count is known where it loads (prepare_data checks again)
        try:
            parse(cfg.data_mod, None if cfg.dataset == FOLDER or cfg.dataset not in DATASETS else cfg.num_classes())
        except DataModError as e:
            problems.append(str(e))
    if cfg.nesterov and (cfg.optimizer != "sgd" or cfg.momentum == 0):
        problems.append("Nesterov momentum needs the SGD optimizer with momentum above 0")
    if cfg.backbone and cfg.model != "mlp":
        problems.append(f"a frozen backbone gives {FEATURE_DIM} numbers per image: train an mlp head on them")
    if cfg.device not in ("auto", "cpu", "cuda", "mps") and not cfg.device.startswith("cuda:"):
        problems.append(f"device '{cfg.device}' is not auto, cpu, cuda, cuda:N or mps")
    if not problems and cfg.model in MODELS:
        taken = model_options(cfg.model)
        unused = [k for k, option in OPTIONS.items() if option.per_model and cfg.is_set(k) and k not in taken
                  and not (k == "input_size" and cfg.backbone)]  # with a backbone it is the backbone's
        if unused:
            problems.append(f"{cfg.model} has no option(s) {unused}; it takes {taken}")
    if not problems and cfg.model == "custom":  # shapes by arithmetic: microseconds, no network built
        classes = None if cfg.dataset == FOLDER else cfg.num_classes()  # a folder's are read where it trains
        if found := netshape.analyse(cfg.layers or DEFAULT_LAYERS, cfg.input_shape(), classes).problems:
            problems.append(found[0].text + (f": {found[0].fixes[0].text}" if found[0].fixes else ""))
    if problems:
        raise ConfigError("; ".join(problems) + ".")
    return cfg


DEFAULTS = {f.name: f.default for f in fields(TrainConfig)}


# Named starting points; the command line and the app override single fields with dataclasses.replace.
PRESETS: dict[str, TrainConfig] = {
    "mnist-minute": TrainConfig(dataset="mnist-mini", model="lenet", optimizer="sgd", lr=0.05,
                                momentum=0.9, epochs=5, batch_size=64),
    "mlp-mnist": TrainConfig(dataset="mnist", model="mlp", hidden=(128,), optimizer="adam", lr=1e-3,
                             epochs=10, batch_size=128),
    "lenet-mnist": TrainConfig(dataset="mnist", model="lenet", optimizer="sgd", lr=0.01, epochs=5,
                               batch_size=64),
    "cnn5-cifar10": TrainConfig(dataset="cifar10", model="cnn5", optimizer="adam", lr=1e-3, epochs=10,
                                batch_size=64, augment=("crop", "flip"), schedule="cosine"),
    "resnet18-scratch": TrainConfig(dataset="cifar10", model="resnet18", optimizer="sgd", lr=0.01,
                                    momentum=0.9, weight_decay=1e-4, schedule="cosine", clip_grad=0.1,
                                    patience=6, batch_size=128, epochs=30, val_fraction=0.1,
                                    augment=("crop", "flip")),
    "resnet18-finetune": TrainConfig(dataset="cifar10", model="resnet18", pretrained=True, train_blocks=2,
                                     input_size=224, optimizer="adam", lr=1e-4, epochs=5, batch_size=64,
                                     augment=("crop", "flip")),
    "resnet34-features-head": TrainConfig(dataset="cifar10", backbone="resnet34", model="mlp",
                                          hidden=(256, 128), optimizer="sgd", lr=0.01, momentum=0.9,
                                          epochs=200, batch_size=128, converge_patience=5,
                                          converge_delta=1e-3),
    # a network from the builder, as its text form (nets.engine.netspec): 2 small convolutions, ~27 k parameters
    "custom-mnist": TrainConfig(dataset="mnist-mini", model="custom", optimizer="adam", lr=1e-3, epochs=3,
                                layers=from_text("conv_8_k3_p1,relu,maxpool_2,conv_16_k3_p1,relu,maxpool_2,"
                                                 "flatten,linear_32,relu,linear")),
}

# The CIFAR-10 speed run (airbench94: 94% in 3.83 s on an A100) as switches of this engine. airbench
# sums the loss over a batch of 1,024 with lr 11.5 per 1,024 images (decoupled from momentum 0.85,
# i.e. divided by 1 + 1/0.15) and weight decay 0.0153 per 1,024 images; for the mean loss used here
# that is lr 11.5 / (1 + 1/0.15) = 1.5 and weight decay (0.0153 / 11.5) = 0.00133 in PyTorch's terms.
# 10 epochs where airbench trains 9.9; Lookahead every 5 steps, alpha 1 − 0.95⁵ at the end.
PRESETS["airbench94"] = TrainConfig(
    dataset="cifar10", model="airbench", optimizer="sgd", lr=1.5, momentum=0.85, nesterov=True,
    weight_decay=0.00133, epochs=10, batch_size=1024, schedule="triangle", augment=("flip_alt", "translate"),
    init="dirac", label_smoothing=0.2, lookahead=5, lookahead_alpha=0.226, lookahead_ramp=True, tta=2,
    stats_every=0)
# A CPU-sized version: the bundled Fashion-MNIST (mirror-safe), half its images, narrower blocks, batches
# of 128 at lr 0.75 (airbench's rate per image would be 1.5 × 128/1024; 117 steps instead of its 490 want
# more), the same weight decay: ~85% test accuracy in ~15 s on one CPU thread.
PRESETS["airbench94-mini"] = replace(PRESETS["airbench94"], dataset="fashion-mnist-mini", train_per_class=300,
                                     channels=(32, 64, 64), batch_size=128, lr=0.75, epochs=5)

# The from-scratch recipe offline: the bundled Fashion-MNIST, and the stock 7×7 stem, which shrinks
# the maps early (about 8× faster on a CPU than the 3×3 CIFAR stem: 5-10 s an epoch on 2 cores).
PRESETS["resnet18-scratch-mini"] = replace(PRESETS["resnet18-scratch"], dataset="fashion-mnist-mini",
                                           small_stem=False, epochs=10)

# The coursework's four configurations: two optimizers × two losses, everything else equal.
FOUR_CONFIGS: list[dict] = [
    dict(optimizer="sgd", lr=0.001, momentum=0.9, loss="ce"),
    dict(optimizer="sgd", lr=0.001, momentum=0.9, loss="mse"),
    dict(optimizer="adam", lr=0.01, loss="ce"),
    dict(optimizer="adam", lr=0.01, loss="mse"),
]
# On the bundled Fashion-MNIST, 20 epochs: long enough to see SGD with squared error creep up
# (12% → 26% test accuracy) while the others settle; the four runs take 1½-5 minutes on 2 CPU cores.
FOUR_CONFIGS_BASE = TrainConfig(dataset="fashion-mnist-mini", model="cnn5", epochs=20, batch_size=64)


def four_configs(base: TrainConfig = FOUR_CONFIGS_BASE) -> list[TrainConfig]:
    return [replace(base, **c)  # names come from nets.engine.naming: they differ in optimizer, lr and loss
            for c in FOUR_CONFIGS]


def four_configs_text() -> str:
    """The four configurations in words: 'SGD lr 0.001 and Adam lr 0.01, each with cross-entropy and
    with squared error'."""
    optimizers = dict.fromkeys(f"{OPTIMIZER_NAMES[c['optimizer']]} lr {c['lr']:g}" for c in FOUR_CONFIGS)
    losses = dict.fromkeys(LOSS_NAMES[c["loss"]] for c in FOUR_CONFIGS)
    return f"{' and '.join(optimizers)}, each with {' and with '.join(losses)}"


def four_configs_summary() -> str:
    """The four configurations in one line, as the Train page's summary states them: 'SGD lr 0.001
    and Adam lr 0.01 × cross-entropy and squared error'."""
    optimizers = dict.fromkeys(f"{OPTIMIZER_NAMES[c['optimizer']]} lr {c['lr']:g}" for c in FOUR_CONFIGS)
    losses = dict.fromkeys(LOSS_NAMES[c["loss"]] for c in FOUR_CONFIGS)
    return f"{' and '.join(optimizers)} × {' and '.join(losses)}"

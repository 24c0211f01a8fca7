"""What one training job will cost before it runs: parameters, memory, time and images, estimated
from the model built on the meta device (shapes only, nothing allocated) and the dataset's size."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from nets.engine.catalog import FOLDER, IMAGE_SUFFIXES

TRAIN_IMAGES = {"mnist-mini": 6000, "fashion-mnist-mini": 6000, "mnist": 60000, "fashion-mnist": 60000,
                "cifar10": 50000}
TEST_IMAGES = {"mnist-mini": 1000, "fashion-mnist-mini": 1000, "mnist": 10000, "fashion-mnist": 10000,
               "cifar10": 10000}
BYTES = 4                                  # fp32: weights, gradients, optimizer state, activations
OPTIMIZER_STATES = {"adam": 2, "adamw": 2}  # tensors kept per trained weight (SGD/RMSprop: see states())
BACKWARD = 2.0                              # a backward pass costs about twice the forward one
# Throughputs a device reaches on these models without tuning (multiply-adds per second), below what
# was measured on purpose, so an estimate errs long: a CPU core 25 G (ResNet-18 reached ~80 G a core
# on the 2-core machine); a GPU 10 T (an H100's bf16 peak is ~1000 T; small models reach a few %).
CPU_MACS_PER_CORE, GPU_MACS = 25e9, 10e12
STEP_OVERHEAD_S = {"cpu": 0.5e-3, "gpu": 1e-3}  # dispatch per batch, what bounds small models
BACKBONE_MACS_224 = {"resnet18": 1.82e9, "resnet34": 3.67e9}  # per image at 224×224 (published figures)
COUNT_LIMIT = 1_000_000                     # files counted in a folder dataset at most


@dataclass(frozen=True)
class Cost:
    params: int            # every parameter
    trainable: int         # those that get gradients and optimizer state
    memory_bytes: int      # weights + gradients + optimizer state + one batch's activations
    macs_per_image: int    # forward multiply-adds per image
    images: int            # training images per epoch (a folder: the files found)
    seconds: float         # the whole training, estimated

    @property
    def memory_mb(self) -> float:
        return self.memory_bytes / 2**20

    @property
    def minutes(self) -> float:
        return self.seconds / 60


def states(optimizer: str, momentum: float) -> int:
    if optimizer in OPTIMIZER_STATES:
        return OPTIMIZER_STATES[optimizer]
    if optimizer == "rmsprop":
        return 1 + (momentum > 0)
    return 1 if momentum > 0 else 0  # SGD: its momentum buffer


@lru_cache(maxsize=256)
def model_shape_cost(model: str, in_shape: tuple, num_classes: int, options: tuple) -> tuple[int, int, int, int]:
    """(params, trainable, forward multiply-adds per image, activation numbers per image) of a model,
    built and run on the meta device: shapes only, so a 4-billion-parameter network costs nothing."""
    import torch
    from torch import nn

    from nets.engine.models import build_model, count_params
    kwargs = dict(options)
    if model == "custom":  # a builder network is counted by its own arithmetic: microseconds, not a meta build
        return _layer_list_cost(kwargs.get("layers") or (), in_shape, num_classes)
    if kwargs.pop("pretrained", False):
        kwargs["small_stem"] = False  # the ImageNet weights' stem; loading them would not change a count
    with torch.device("meta"):
        net = build_model(model, in_shape, num_classes, **kwargs)
    macs, acts = [0], [0]

    def hook(module, args, output):
        if not isinstance(output, torch.Tensor):
            return
        n = output[0].numel()  # per image (a batch of one)
        acts[0] += n
        if isinstance(module, nn.Linear):
            macs[0] += module.in_features * module.out_features
        elif isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
            macs[0] += n * k
        else:
            macs[0] += n  # activations, norms, pooling: about one operation per output

    leaves = [m for m in net.modules() if not any(True for _ in m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        net.eval()
        with torch.no_grad():
            net(torch.zeros(1, *in_shape, device="meta"))
    finally:
        for h in handles:
            h.remove()
    return count_params(net), count_params(net, trainable_only=True), macs[0], acts[0]


def _layer_list_cost(layers, in_shape: tuple, num_classes: int) -> tuple[int, int, int, int]:
    """model_shape_cost of a builder network, from nets.engine.netshape (checked equal to the built
    network's counts in tests/test_netbuild.py): about one operation per output beyond the multiply-adds."""
    from nets.engine import netshape
    from nets.engine.models import DEFAULT_LAYERS, ModelError
    analysis = netshape.analyse(layers or DEFAULT_LAYERS, in_shape, num_classes)
    if not analysis.ok:
        raise ModelError(analysis.problems[0].text)
    return analysis.params, analysis.params, analysis.mult_adds + analysis.activations, analysis.activations


def folder_images(folder: Path, limit: int = COUNT_LIMIT) -> int:
    """Image files under a folder dataset (counting stops after `limit`); counted once a minute at
    most, since the Train page asks on every rerun."""
    return _count(str(folder), limit, int(time.monotonic() // 60))


@lru_cache(maxsize=64)
def _count(folder: str, limit: int, minute: int) -> int:
    n = 0
    for _, _, files in os.walk(folder):
        n += sum(Path(f).suffix.lower() in IMAGE_SUFFIXES for f in files)
        if n > limit:
            break
    return n


def dataset_images(cfg, folder: Path | None = None) -> tuple[int, int]:
    """(training images per epoch, test images) the job will read."""
    if cfg.dataset == FOLDER:
        total = folder_images(folder) if folder is not None else 0
        train, test = int(total * 0.8), total - int(total * 0.8)
    else:
        train, test = TRAIN_IMAGES.get(cfg.dataset, 0), TEST_IMAGES.get(cfg.dataset, 0)
    classes = max(cfg.num_classes(), 1) if cfg.dataset != FOLDER or cfg.folder else 1
    if cfg.train_per_class:
        train = min(train, cfg.train_per_class * classes)
    elif cfg.train_fraction < 1:
        train = int(train * cfg.train_fraction)
    train = max(int(train * (1 - cfg.val_fraction)), 0)
    return kept_images(cfg, train, classes), test


def _mod(cfg):
    """The config's training-set modification (nets.engine.datamod), or None (none, or unreadable)."""
    if not getattr(cfg, "data_mod", ""):
        return None
    from nets.engine.datamod import DataModError, parse
    try:
        return parse(cfg.data_mod)
    except DataModError:
        return None


def kept_images(cfg, train: int, classes: int) -> int:
    """The training images left after a keep step, taking the classes as equally large."""
    mod = _mod(cfg)
    if mod is None or not mod.keep or not train:
        return train
    from nets.engine.datamod import share
    per_class = train / max(classes, 1)
    chosen, pct = mod.keep
    dropped = sum(per_class - max(1, share(pct, round(per_class))) for c in chosen if c < classes)
    return max(int(train - dropped), 1)


def device_kind(cfg) -> str:
    if cfg.device == "cpu":
        return "cpu"
    try:
        import torch
        return "gpu" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


def throughput(kind: str, jobs: int = 1) -> float:
    """Multiply-adds per second one job gets: a GPU's, or its share of the CPU cores."""
    if kind == "gpu":
        return GPU_MACS
    cores = max((os.cpu_count() or 1) // max(jobs, 1), 1)
    return CPU_MACS_PER_CORE * cores


def estimate(cfg, folder: Path | None = None, num_classes: int | None = None, jobs: int = 1) -> Cost:
    """The job's cost. `folder`: a folder dataset's resolved folder (its images are counted);
    `num_classes`: a folder's class count when known; `jobs`: how many jobs share the device."""
    classes = num_classes or (cfg.num_classes() if cfg.dataset != FOLDER else 0) or 10
    if cfg.dataset == FOLDER and folder is not None and num_classes is None:
        classes = max(sum(1 for e in os.scandir(folder) if e.is_dir()), 2)
    options = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in cfg.model_kwargs().items()))
    params, trainable, macs, acts = model_shape_cost(cfg.model, tuple(cfg.input_shape()), classes, options)
    train, test = dataset_images(cfg, folder)
    memory = (params + trainable * (1 + states(cfg.optimizer, cfg.momentum))) * BYTES
    memory += int(acts * cfg.batch_size * BYTES * 2)  # each output, and its gradient in the backward pass
    if getattr(cfg, "stats_every", 0):
        memory += trainable * BYTES  # the layer statistics copy the weights on a record step to measure Δw
    kind = device_kind(cfg)
    rate = throughput(kind, jobs)

    def per_epoch(n: int) -> float:
        batches = -(-n // max(cfg.batch_size, 1)) if n else 0
        return (n * macs * (1 + BACKWARD) + test * macs) / rate + batches * STEP_OVERHEAD_S[kind]

    seconds = per_epoch(train) * cfg.epochs
    if (mod := _mod(cfg)) is not None and mod.clean:  # clean:k: k fold models first, each on (k-1)/k of the images
        k = mod.clean
        seconds += k * per_epoch(train * (k - 1) // k) * cfg.epochs + train * macs / rate  # + the held-out scores
    if cfg.backbone:  # its features are extracted once, for every image
        size = cfg.input_size or 224
        seconds += (train + test) * BACKBONE_MACS_224.get(cfg.backbone, 4e9) * (size / 224) ** 2 / rate
    return Cost(params, trainable, int(memory), macs, train, seconds)

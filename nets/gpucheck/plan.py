"""What the GPU check trains: the architectures, the precision and memory-format settings, each job's configuration, and what it skips and why."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from nets.engine.config import TrainConfig

# The registry's architectures that train from scratch on the bundled images; "custom" is a builder network.
ARCHS = ("mlp", "lenet", "cnn5", "gated-cnn", "resnet18", "custom")
QUICK_ARCHS = ("mlp", "lenet", "custom")  # the CPU's run in the test suite
CONVOLUTIONAL = frozenset(ARCHS) - {"mlp"}
# A small builder network: two convolutions with batch norm, each pooled, then a linear layer ("custom" above).
BUILDER_LAYERS = "conv_8_k3_p1,batchnorm,relu,maxpool_2,conv_16_k3_p1,batchnorm,relu,maxpool_2,flatten,linear"
ARCH_OPTIONS = {"resnet18": {"small_stem": True}}  # the CIFAR-style 3×3 stem: 28-px images keep their size


@dataclass(frozen=True)
class Setting:
    """One way of running the same network: mixed precision (TrainConfig.amp) and memory format."""
    name: str
    amp: bool
    channels_last: bool


SETTINGS = (Setting("fp32", False, False), Setting("amp", True, False),
            Setting("channels-last", False, True), Setting("amp+channels-last", True, True))
BY_NAME = {s.name: s for s in SETTINGS}
QUICK = {"cuda": ("fp32", "amp+channels-last"), "other": ("fp32", "channels-last")}


@dataclass(frozen=True)
class Skip:
    """A check or a case that does not run here, and why (printed in the list of checks)."""
    name: str
    why: str


@dataclass(frozen=True)
class Case:
    """One training job of the check: an architecture under a setting, through a job service."""
    arch: str
    setting: Setting
    service: str  # "process" (worker processes) or "ray" (Ray tasks on a local cluster)

    @property
    def label(self) -> str:
        return f"{self.arch} {self.setting.name} ({self.service})"


@dataclass(frozen=True)
class Sizes:
    """How much each job trains: about `steps` optimiser steps on `per_class` images per class."""
    steps: int
    per_class: int   # 0: the whole training set
    batch: int
    log_every: int   # batches between live points

    @classmethod
    def pick(cls, quick: bool, steps: int | None = None) -> Sizes:
        if quick:
            return cls(steps or 40, 24, 32, 2)
        return cls(steps or 300, 0, 128, 10)


def settings_for(device_type: str, quick: bool) -> tuple[list[Setting], list[Skip]]:
    """The settings this device runs, and the ones it skips: mixed precision is CUDA's only (the engine
    trains in float32 elsewhere, so an amp job would repeat the fp32 one)."""
    names = QUICK["cuda" if device_type == "cuda" else "other"] if quick else tuple(BY_NAME)
    chosen = [BY_NAME[n] for n in names]
    if device_type == "cuda":
        return chosen, []
    amp = [s.name for s in SETTINGS if s.amp]
    return [s for s in chosen if not s.amp], [Skip("mixed precision (" + ", ".join(amp) + ")",
                                                   f"TrainConfig.amp is CUDA-only; this device is {device_type}")]


def cases(archs, settings: list[Setting], services: list[str], ray_archs=None) -> tuple[list[Case], list[Skip]]:
    """Every job: each architecture under each setting through the worker processes, and under one
    setting through Ray for `ray_archs` (all of `archs` when None)."""
    out, skips = [], []
    for arch in archs:
        for s in settings:
            if s.channels_last and arch not in CONVOLUTIONAL:
                skips.append(Skip(f"{arch} {s.name}", "channels-last is a memory format of convolutions; "
                                                      f"{arch} has none"))
                continue
            out.append(Case(arch, s, "process"))
    if "ray" in services:  # the last setting (the app's own on a GPU: amp and channels-last) for each
        plain = [s for s in settings if not s.channels_last] or settings
        for arch in (ray_archs if ray_archs is not None else archs):
            out.append(Case(arch, settings[-1] if arch in CONVOLUTIONAL else plain[-1], "ray"))
    return out, skips


def config(arch: str, setting: Setting, sizes: Sizes, dataset: str, train_images: int, seed: int = 0) -> TrainConfig:
    """The job's configuration: Adam at 1e-3 (every architecture learns within a few dozen steps), epochs
    enough for about `sizes.steps` steps, live points every `sizes.log_every` batches."""
    n = sizes.per_class * 10 if sizes.per_class else train_images
    batches = max(1, math.ceil(n / sizes.batch))
    options = dict(ARCH_OPTIONS.get(arch, {}))
    if arch == "custom":
        from nets.engine.netspec import from_text
        options["layers"] = from_text(BUILDER_LAYERS)
    return TrainConfig(dataset=dataset, model=arch, train_per_class=sizes.per_class, optimizer="adam", lr=1e-3,
                       batch_size=sizes.batch, epochs=max(1, math.ceil(sizes.steps / batches)), seed=seed,
                       amp=setting.amp, channels_last=setting.channels_last, log_every=sizes.log_every,
                       name=f"gpu-check {arch} {setting.name}", **options)


def long_config(cfg: TrainConfig) -> TrainConfig:
    """A job that trains until it is stopped (the memory-after-a-stop check)."""
    return replace(cfg, epochs=10_000, name=cfg.name + " (stopped)")


# 30 convolutions of 512 channels at 28×28, float32, 5,000 images a batch: each output 5,000 × 512 × 784 floats
# (8 GB, under 2^31 elements, beyond which a kernel may refuse with another error first), 240 GB in all
OOM_LAYERS = ",".join(["conv_512_k3_p1,relu"] * 30 + ["gap", "flatten", "linear"])


def oom_config(dataset: str) -> TrainConfig:
    """A job no GPU holds (a builder network of OOM_LAYERS in float32 at batch 5,000: some 240 GB of saved
    activations); it fails in its first forward pass."""
    from nets.engine.netspec import from_text
    return TrainConfig(dataset=dataset, model="custom", layers=from_text(OOM_LAYERS), batch_size=5000, epochs=1,
                       optimizer="adam", lr=1e-3, amp=False, name="gpu-check out of memory")


IMAGENET_SKIP = Skip("ImageNet-weight cases (pretrained ResNets, frozen backbones)",
                     "their weights are downloaded or uploaded, and the check runs offline; train one on the Train page")


def parse_archs(text: str | None) -> tuple[str, ...]:
    """--archs a,b: known names only, in the registry's order."""
    if not text:
        return ARCHS
    asked = [a.strip() for a in text.split(",") if a.strip()]
    unknown = [a for a in asked if a not in ARCHS]
    if unknown:
        raise ValueError(f"unknown architecture(s) {', '.join(unknown)}; choose from {', '.join(ARCHS)}")
    return tuple(a for a in ARCHS if a in asked)

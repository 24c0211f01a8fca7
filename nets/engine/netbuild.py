"""A layer list built as an nn.Sequential; the built-in architectures as editable layer lists."""
# Module i of the Sequential is layer i of the list, so weights.pt's names are "0.weight", "3.bias"...
# and a copy of LeNet, cnn5, the gated CNN or the MLP loads the built-in's weights as they are.
from __future__ import annotations

import math

from torch import nn

from nets.engine import netshape
from nets.engine.layers import GatedConv, ModelError, Residual, activation
from nets.engine.netspec import ACTIVATION_TYPES, Layer, labels, layer, normal

DEFAULT_LAYERS = (layer("flatten"), layer("linear"))  # an empty list: logistic regression

TEMPLATES = {
    "empty": "Empty: start from nothing",
    "mlp": "MLP: one hidden layer of 128",
    "lenet": "LeNet: the coursework's, 8,490 parameters on MNIST",
    "cnn5": "CNN (cnn5): two 5×5 convolutions, three linear layers",
    "gated-cnn": "Gated CNN: cnn5 with gated convolutions",
    "small-resnet": "Small ResNet: a stem and three residual blocks",
    "resnet18": "ResNet-18: the CIFAR version (3×3 stem)",
}
# The built-ins' options and defaults, as nets.engine.models' signatures say them (a test keeps them in step).
COPY_DEFAULTS = {
    "mlp": dict(hidden=(128,), activation="relu", dropout=0.0, batch_norm=False),
    "lenet": dict(activation="relu", dropout=0.5, batch_norm=False),
    "cnn5": dict(channels=(32, 64), fc=(256, 128), activation="relu", dropout=0.0, batch_norm=False),
    "gated-cnn": dict(channels=(32, 64), fc=(256, 128), activation="relu", dropout=0.0),
    "resnet18": dict(small_stem=None, dropout=0.0, block_dropout=0.0, pretrained=False, train_blocks=-1,
                     input_size=0),
}
COPY_DEFAULTS["resnet34"] = COPY_DEFAULTS["resnet18"]
RESNET_BLOCKS = {"resnet18": (2, 2, 2, 2), "resnet34": (3, 4, 6, 3)}
MAX_P = 0.9  # netspec's dropout range


class CustomNet(nn.Sequential):
    """A network from the builder: module i is layer i of its list; `layer_labels` names every module
    by the builder's label ("3" → "Conv 2", "5.conv_a" → "Res 1 · conv a")."""

    def __init__(self, modules, names):
        super().__init__(*modules)
        self.layer_labels: dict[str, str] = {}
        for i, (module, name) in enumerate(zip(self, names)):
            self.layer_labels[str(i)] = name
            for path, sub in list(module.named_modules())[1:]:
                if not next(sub.children(), None):  # the leaves: "shortcut.0" is "shortcut", ".1" its BN
                    part = {"shortcut.0": "shortcut", "shortcut.1": "shortcut bn"}.get(path, path)
                    self.layer_labels[f"{i}.{path}"] = f"{name} · {part.replace('_', ' ')}"


def _size(n: int, kernel: int, stride: int, padding: int) -> int:
    return (n + 2 * padding - kernel) // stride + 1


def _module(d: Layer, shape: tuple, classes: int) -> tuple[nn.Module, tuple]:
    """Layer `d` as a module for an input of `shape` (C×H×W or N), and the shape it outputs."""
    kind = d["type"]
    if kind == "conv":
        c, h, w = shape
        m = nn.Conv2d(c, d["out"], d["kernel"], d["stride"], d["padding"], groups=d["groups"], bias=d["bias"])
        return m, (d["out"], *(_size(n, d["kernel"], d["stride"], d["padding"]) for n in (h, w)))
    if kind in ("maxpool", "avgpool"):
        stride = d["stride"] or d["kernel"]
        m = (nn.MaxPool2d if kind == "maxpool" else nn.AvgPool2d)(d["kernel"], stride, d["padding"])
        return m, (shape[0], *(_size(n, d["kernel"], stride, d["padding"]) for n in shape[1:]))
    if kind == "gap":
        return nn.AdaptiveAvgPool2d(1), (shape[0], 1, 1)
    if kind == "batchnorm":
        return (nn.BatchNorm2d(shape[0]) if len(shape) == 3 else nn.BatchNorm1d(shape[0])), shape
    if kind == "dropout":
        return nn.Dropout(d["p"]), shape
    if kind == "dropout2d":
        return nn.Dropout2d(d["p"]), shape
    if kind in ACTIVATION_TYPES:
        return activation(kind), shape
    if kind == "flatten":
        return nn.Flatten(), (math.prod(shape),)
    if kind == "linear":
        out = d["out"] or classes
        return nn.Linear(d["in"] or math.prod(shape), out), (out,)
    if kind == "residual":
        return (Residual(shape[0], d["out"], d["stride"]),
                (d["out"], *(_size(n, 3, d["stride"], 1) for n in shape[1:])))
    if kind == "gated":
        return GatedConv(shape[0], d["out"], d["activation"]), (d["out"], *(n - 4 for n in shape[1:]))
    raise ModelError(f"no layer type {kind!r}")


def build(layers, in_shape, classes: int) -> CustomNet:
    """The network of a layer list for C×H×W images and `classes` outputs; ModelError names the first
    problem (nets.engine.netshape) and its fix."""
    layers = tuple(normal(d) for d in layers)
    analysis = netshape.analyse(layers, tuple(in_shape), classes)
    if not analysis.ok:
        first = analysis.problems[0]
        raise ModelError(first.text + (f": {first.fixes[0].text}" if first.fixes else ""))
    shape, modules = tuple(int(v) for v in in_shape), []
    for d in layers:
        module, shape = _module(d, shape, classes)
        modules.append(module)
    return CustomNet(modules, labels(layers))


# ----------------------------------------------------------------------- the built-ins as layer lists
def _act(name: str) -> Layer:
    if name == "linear":
        raise ModelError("The activation 'linear' (none) has no layer in the builder, so this network "
                         "cannot be copied with its weights' names; pick another activation.")
    return layer(name)


def _p(p: float, what: str) -> float:
    if not 0 <= float(p) <= MAX_P:
        raise ModelError(f"The builder's {what} is at most {MAX_P}; this network has {p}.")
    return float(p)


def _head(fc, act: str, dropout: float) -> list[Layer]:
    out = [layer("flatten")]
    for units in fc:
        out += [layer("linear", out=int(units)), _act(act)]
        out += [layer("dropout", p=_p(dropout, "dropout"))] if dropout > 0 else []
    return out + [layer("linear")]


def _resnet(blocks, in_shape, o: dict) -> list[Layer]:
    if o["pretrained"] or o["input_size"] or o["train_blocks"] >= 0:
        raise ModelError("The builder copies the architecture only: turn off the ImageNet weights, the "
                         "frozen blocks and the resizing to copy this ResNet.")
    small = o["small_stem"] if o["small_stem"] is not None else min(in_shape[1:]) <= 64
    out = ([layer("conv", out=64, kernel=3, padding=1, bias=False)] if small else
           [layer("conv", out=64, kernel=7, stride=2, padding=3, bias=False)])
    out += [layer("batchnorm"), layer("relu")] + ([] if small else [layer("maxpool", kernel=3, stride=2, padding=1)])
    after = [layer("dropout", p=_p(o["block_dropout"], "block dropout"))] if o["block_dropout"] > 0 else []
    for stage, (width, count) in enumerate(zip((64, 128, 256, 512), blocks)):
        for i in range(count):
            out += [layer("residual", out=width, stride=2 if stage and not i else 1), *after]
    out += [layer("gap"), layer("flatten")]
    out += [layer("dropout", p=_p(o["dropout"], "dropout"))] if o["dropout"] > 0 else []
    return out + [layer("linear")]


def copy_of(model: str, options: dict, in_shape) -> tuple[Layer, ...]:
    """A built-in network as a layer list. MLP, LeNet, cnn5 and the gated CNN keep the built-in's weight
    names (their weights load as they are); a ResNet keeps its layout and parameter count, not its
    names. ModelError for what the builder cannot say (ImageNet weights, frozen blocks, resizing)."""
    if model == "custom":
        return tuple(normal(d) for d in options.get("layers") or DEFAULT_LAYERS)
    if model not in COPY_DEFAULTS:
        raise ModelError(f"The builder cannot copy '{model}'.")
    unknown = sorted(set(options) - set(COPY_DEFAULTS[model]))
    if unknown:
        raise ModelError(f"{model} has no option(s) {unknown}.")
    o = {**COPY_DEFAULTS[model], **options}
    if model in RESNET_BLOCKS:
        return tuple(_resnet(RESNET_BLOCKS[model], tuple(in_shape), o))
    act, dropout = o["activation"], o["dropout"]
    if model == "mlp":
        out = [layer("flatten")]
        for h in o["hidden"]:
            out += [layer("linear", out=int(h))] + ([layer("batchnorm")] if o["batch_norm"] else []) + [_act(act)]
            out += [layer("dropout", p=_p(dropout, "dropout"))] if dropout > 0 else []
        return tuple(out + [layer("linear")])
    if model == "lenet":
        bn = [layer("batchnorm")] if o["batch_norm"] else []
        return (layer("conv", out=10, kernel=5), layer("maxpool"), _act(act), layer("conv", out=20, kernel=5), *bn,
                layer("dropout2d", p=_p(dropout, "dropout")), layer("maxpool"), _act(act), *_head((), act, 0))
    if len(o["channels"]) != 2:
        raise ModelError(f"{model} has two convolutions: give two channel counts, not {list(o['channels'])}.")
    out = []
    for c in o["channels"]:
        if model == "cnn5":
            out += [layer("conv", out=int(c), kernel=5), *([layer("batchnorm")] if o["batch_norm"] else []),
                    _act(act), layer("maxpool")]
        else:
            out += [layer("gated", out=int(c), activation=act), layer("maxpool")]
    return tuple(out + _head(o["fc"], act, dropout))


def template(key: str, in_shape) -> tuple[Layer, ...]:
    """The layer list a builder starts from (TEMPLATES); the last Linear has one output per class."""
    if key == "empty":
        return ()
    if key == "small-resnet":
        return (layer("conv", out=16, kernel=3, padding=1, bias=False), layer("batchnorm"), layer("relu"),
                layer("residual", out=16), layer("residual", out=32, stride=2), layer("residual", out=64, stride=2),
                layer("gap"), layer("flatten"), layer("linear"))
    if key == "resnet18":
        return copy_of("resnet18", {"small_stem": True}, in_shape)
    if key not in TEMPLATES:
        raise ModelError(f"No template '{key}'. Choose from: {', '.join(TEMPLATES)}.")
    return copy_of(key, {}, in_shape)

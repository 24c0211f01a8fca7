"""The architectures of the course, in one registry.

Every builder takes (input shape C×H×W, number of classes, **options) and every option has a
default, so `build_model("lenet", (1, 28, 28), 10)` is the coursework's LeNet. Models take float
images that are already normalised; the engine does that on the device.
"""
from __future__ import annotations

import inspect
import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from nets.engine import netbuild
from nets.engine.airbench import airbench
from nets.engine.layers import ACTIVATIONS, GatedConv, ModelError, Residual, activation  # noqa: F401 (re-exported)
from nets.engine.pretrained import ARCHES, PretrainedError, imagenet_resnet

def _conv_out(size: int, kernel: int, pad: int = 0) -> int:
    return size + 2 * pad - kernel + 1


def _check_spatial(in_shape, needed: int, model: str):
    if min(in_shape[1:]) < needed:
        raise ModelError(f"{model} needs images of at least {needed}×{needed} pixels; "
                         f"this dataset has {in_shape[1]}×{in_shape[2]}.")


def mlp(in_shape, num_classes, hidden=(128,), activation_name="relu", dropout=0.0,
        batch_norm=False) -> nn.Sequential:
    """Flatten, then Linear → (BatchNorm) → activation → (Dropout) per hidden layer, then Linear."""
    layers: list[nn.Module] = [nn.Flatten()]
    width = math.prod(in_shape)
    for h in hidden:
        layers.append(nn.Linear(width, h))
        if batch_norm:
            layers.append(nn.BatchNorm1d(h))
        layers.append(activation(activation_name))
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


def lenet(in_shape, num_classes, activation_name="relu", dropout=0.5, batch_norm=False) -> nn.Sequential:
    """conv 5×5 (C→10) · max-pool · act · conv 5×5 (10→20) · dropout · max-pool · act · fc → classes.
    8,490 parameters on MNIST."""
    _check_spatial(in_shape, 12, "lenet")
    side = [_after_two_convs(s) for s in in_shape[1:]]
    layers = [nn.Conv2d(in_shape[0], 10, 5), nn.MaxPool2d(2), activation(activation_name),
              nn.Conv2d(10, 20, 5)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(20))
    layers += [nn.Dropout2d(dropout), nn.MaxPool2d(2), activation(activation_name), nn.Flatten(),
               nn.Linear(20 * side[0] * side[1], num_classes)]
    return nn.Sequential(*layers)


def _conv_head(flat: int, fc, num_classes, activation_name, dropout) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Flatten()]
    for units in fc:
        layers += [nn.Linear(flat, units), activation(activation_name)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        flat = units
    return layers + [nn.Linear(flat, num_classes)]


def _after_two_convs(size: int) -> int:
    return (_conv_out(size, 5) // 2 - 4) // 2  # conv 5×5, pool 2, conv 5×5, pool 2: 32 → 5, 28 → 4


def cnn5(in_shape, num_classes, channels=(32, 64), fc=(256, 128), activation_name="relu",
         dropout=0.0, batch_norm=False) -> nn.Sequential:
    """The coursework's CIFAR-10 network: conv 5×5 → pool → conv 5×5 → pool → fc → fc → fc, the
    PyTorch tutorial's shape made wider. Defaults (32 and 64 channels, no padding, fc 256 → 128) give
    497,738 parameters on CIFAR-10."""
    if len(channels) != 2:
        raise ModelError(f"cnn5 has two convolutions: give two channel counts, not {list(channels)}.")
    _check_spatial(in_shape, 12, "cnn5")
    layers: list[nn.Module] = []
    c_in = in_shape[0]
    for c_out in channels:
        layers.append(nn.Conv2d(c_in, c_out, 5))
        if batch_norm:
            layers.append(nn.BatchNorm2d(c_out))
        layers += [activation(activation_name), nn.MaxPool2d(2)]
        c_in = c_out
    flat = c_in * _after_two_convs(in_shape[1]) * _after_two_convs(in_shape[2])
    return nn.Sequential(*layers, *_conv_head(flat, fc, num_classes, activation_name, dropout))


def gated_cnn(in_shape, num_classes, channels=(32, 64), fc=(256, 128), activation_name="relu",
              dropout=0.0) -> nn.Sequential:
    """cnn5 with each convolution replaced by a GatedConv of two 5×5 branches."""
    if len(channels) != 2:
        raise ModelError(f"gated-cnn has two gated convolutions: give two channel counts, not {list(channels)}.")
    _check_spatial(in_shape, 12, "gated-cnn")
    c1, c2 = channels
    flat = c2 * _after_two_convs(in_shape[1]) * _after_two_convs(in_shape[2])
    return nn.Sequential(GatedConv(in_shape[0], c1, activation_name), nn.MaxPool2d(2),
                         GatedConv(c1, c2, activation_name), nn.MaxPool2d(2),
                         *_conv_head(flat, fc, num_classes, activation_name, dropout))


def residual_blocks(net: nn.Module) -> list[tuple[str, nn.Module]]:
    """A torchvision ResNet's basic blocks in order: layer1.0, layer1.1, … layer4.1."""
    return [(f"{stage}.{i}", block) for stage in ("layer1", "layer2", "layer3", "layer4")
            for i, block in enumerate(getattr(net, stage))]


def _keep_eval(module: nn.Module, args) -> None:
    module.eval()  # a frozen batch norm keeps ImageNet's running statistics, even in train mode


def freeze_all_but(net: nn.Module, train_blocks: int) -> None:
    """Freeze the stem and all but the last `train_blocks` residual blocks; the head always trains.
    Frozen batch norms also stop updating their running statistics."""
    blocks = residual_blocks(net)
    frozen = ["conv1", "bn1"] + [name for name, _ in blocks[:max(0, len(blocks) - train_blocks)]]
    for name in frozen:
        module = net.get_submodule(name)
        module.requires_grad_(False)
        for child in module.modules():
            if isinstance(child, nn.BatchNorm2d):
                child.register_forward_pre_hook(_keep_eval)


def _resnet(depth: int, in_shape, num_classes, small_stem=None, dropout=0.0, block_dropout=0.0,
            pretrained=False, train_blocks=-1, input_size=0) -> nn.Module:
    from torchvision import models
    arch = f"resnet{depth}"
    if pretrained:
        if small_stem:
            raise ModelError("ImageNet weights come with the 7×7 stem: turn the small stem off.")
        try:
            net = imagenet_resnet(arch)
        except PretrainedError as e:
            raise ModelError(str(e)) from e
        if in_shape[0] == 1:  # a grey image is the sum of the colour filters' responses
            w = net.conv1.weight.detach().sum(1, keepdim=True)
            net.conv1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False)
            net.conv1.weight.data.copy_(w)
        net.fc = nn.Linear(net.fc.in_features, num_classes)
    else:
        net = getattr(models, arch)(weights=None, num_classes=num_classes)
        if small_stem is None:
            small_stem = min(in_shape[1:]) <= 64 and not input_size  # 7×7/2 + max-pool leave 1×1 maps at 32 px
        if small_stem:
            net.conv1 = nn.Conv2d(in_shape[0], 64, 3, 1, 1, bias=False)
            net.maxpool = nn.Identity()
        elif in_shape[0] != 3:
            net.conv1 = nn.Conv2d(in_shape[0], 64, 7, 2, 3, bias=False)
    if train_blocks >= 0:
        freeze_all_but(net, train_blocks)
    if block_dropout > 0:
        # after each block's final activation; a hook keeps torchvision's parameter names
        for _, block in residual_blocks(net):
            block.register_forward_hook(lambda m, args, out: F.dropout(out, block_dropout, m.training))
    if input_size:
        # the model resizes its own input, so evaluation, Grad-CAM and Classify all see what training saw
        net.register_forward_pre_hook(
            lambda m, args: (F.interpolate(args[0], size=(input_size, input_size), mode="bilinear",
                                           align_corners=False),))
    if dropout > 0:
        net.fc = nn.Sequential(nn.Dropout(dropout), net.fc)
    return net


def resnet18(in_shape, num_classes, small_stem=None, dropout=0.0, block_dropout=0.0, pretrained=False,
             train_blocks=-1, input_size=0):
    """torchvision's ResNet-18. `small_stem` (default: for images up to 64 px) uses a 3×3 stride-1
    stem with no max-pool, the usual CIFAR variant. `pretrained` starts from ImageNet weights with a
    new head; `train_blocks` k ≥ 0 freezes everything but the last k residual blocks and the head;
    `input_size` resizes images inside the model; `block_dropout` follows every residual block."""
    return _resnet(18, in_shape, num_classes, small_stem, dropout, block_dropout, pretrained, train_blocks,
                   input_size)


def resnet34(in_shape, num_classes, small_stem=None, dropout=0.0, block_dropout=0.0, pretrained=False,
             train_blocks=-1, input_size=0):
    """torchvision's ResNet-34, with the same options as resnet18."""
    return _resnet(34, in_shape, num_classes, small_stem, dropout, block_dropout, pretrained, train_blocks,
                   input_size)


DEFAULT_LAYERS = netbuild.DEFAULT_LAYERS  # Flatten → Linear: logistic regression


def custom(in_shape, num_classes, layers=()) -> nn.Sequential:
    """Your own network, made layer by layer on the Build page: each line below is one of its layers.

    `layers` is a list of layer dicts (nets.engine.netspec); empty, it is Flatten → Linear."""
    return netbuild.build(layers or DEFAULT_LAYERS, in_shape, num_classes)


MODELS: dict[str, Callable[..., nn.Module]] = {
    "mlp": mlp, "lenet": lenet, "cnn5": cnn5, "gated-cnn": gated_cnn,
    "resnet18": resnet18, "resnet34": resnet34, "custom": custom, "airbench": airbench,
}
# every architecture but the MLP may have convolutions (a custom network: when it has a Conv, is_convolutional)
CONV_MODELS = tuple(n for n in MODELS if n != "mlp")
# The coursework's own CNNs: the convolutional models that are not ImageNet architectures (and not custom:
# a custom network may be an MLP or a ResNet-18, so its size is not a small CNN's; nor the speed run's
# airbench, 2 million parameters).
CNN_MODELS = tuple(n for n in CONV_MODELS if n not in ARCHES and n not in ("custom", "airbench"))
# Option names as the config and the command line say them → builder argument names.
OPTION_ALIASES = {"activation": "activation_name"}


def model_defaults(name: str) -> dict:
    """The options a model accepts, as config names, with its defaults: the builder's signature
    is the one statement of both (e.g. {'hidden': (128,), 'activation': 'relu', ...})."""
    if name not in MODELS:
        raise ModelError(f"Unknown model '{name}'. Choose from: {', '.join(MODELS)}.")
    inverse = {v: k for k, v in OPTION_ALIASES.items()}
    params = list(inspect.signature(MODELS[name]).parameters.values())[2:]
    return {inverse.get(p.name, p.name): p.default for p in params}


def model_options(name: str) -> list[str]:
    """The options a model accepts, as config names (e.g. ['hidden', 'activation', ...])."""
    return list(model_defaults(name))


def build_model(name: str, in_shape, num_classes: int, **options) -> nn.Module:
    """Build a registered model. Options it does not take are an error, not silently dropped."""
    accepted = model_options(name)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ModelError(f"{name} has no option(s) {unknown}; it takes {accepted}.")
    kwargs = {OPTION_ALIASES.get(k, k): v for k, v in options.items()}
    if "dropout" in kwargs and not 0 <= kwargs["dropout"] < 1:
        raise ModelError(f"Dropout must be in [0, 1), got {kwargs['dropout']}.")
    for key in ("hidden", "channels", "fc"):
        if key in kwargs and any(int(v) < 1 for v in kwargs[key]):
            raise ModelError(f"Every entry of {key} must be a positive count, got {list(kwargs[key])}.")
    return MODELS[name](tuple(in_shape), num_classes, **kwargs)


def is_convolutional(model: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) for m in model.modules())


def has_batchnorm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def parameter_counts(name: str, in_shape, num_classes: int, **options) -> tuple[int, int]:
    """(all, trainable) parameters of a model, built on the 'meta' device: shapes only, no memory,
    so a form can count a model far too large to build. ImageNet weights do not change the count."""
    if options.pop("pretrained", False):  # loading them would only slow the count down
        options["small_stem"] = False  # but they come with the 7×7 stem
    with torch.device("meta"):
        net = build_model(name, in_shape, num_classes, **options)
    return count_params(net), count_params(net, trainable_only=True)


def finetune_plan(arch: str, in_shape, num_classes: int, train_blocks: int) -> list[dict]:
    """Which parts of the network train when only the last `train_blocks` blocks do (weights do not
    matter for this, so none are loaded)."""
    net = build_model(arch, in_shape, num_classes, small_stem=False, train_blocks=train_blocks)
    parts = [("stem (conv1, bn1)", [net.conv1, net.bn1])] + [(n, [b]) for n, b in residual_blocks(net)]
    parts.append(("fc (new head)", [net.fc]))
    rows = []
    for name, modules in parts:
        total = sum(count_params(m) for m in modules)
        trainable = sum(count_params(m, trainable_only=True) for m in modules)
        rows.append({"part": name, "parameters": total, "trains": trainable > 0})
    return rows

"""A run's architecture written out as plain, readable PyTorch (model.py), and checked against the run's weights."""
# No user text reaches model.py: not the run's name, not its owner or group, not a folder or class
# name. The source is made only from validated configuration values: the model kind (a key of
# nets.engine.models.MODELS), whole numbers and floats formatted here, layer and activation names
# from this module's own tables, a custom network's layer labels from netspec's table ("Conv 2", never
# typed by anyone), and the dataset's name only when it is one of the catalog's. So the
# check below, which runs the generated source, runs text that no user wrote or chose.
# The source is generated from the run's configuration: the registry (nets.engine.models) builds the
# network on the 'meta' device (shapes only, no memory, no ImageNet download) and every layer of it is
# written back as the line of code that makes it, with the shape it outputs as a comment. Sequential
# networks stay nn.Sequential so the parameter names (0.weight, 3.bias, ...) are the run's own; the
# ResNets are torchvision's layout written out (conv1, bn1, layer1.0.conv1, ..., fc), hooks included
# as plain lines of forward(). `check_source` then loads the run's weights with strict=True.
from __future__ import annotations

import textwrap
import types

import torch
from torch import nn

from nets.engine.catalog import DATASETS
from nets.engine.config import TrainConfig
from nets.engine.models import MODELS, GatedConv, ModelError, Residual, build_model
from nets.export.result import ExportError
from nets.export.template import render

TITLES = {"mlp": "Multi-layer perceptron", "lenet": "LeNet", "cnn5": "CNN (cnn5)", "gated-cnn": "Gated CNN",
          "resnet18": "ResNet-18", "resnet34": "ResNet-34", "custom": "Your network (from the builder)",
          "airbench": "airbench94 (the CIFAR-10 speed run's network)"}
RESNET_BLOCKS = {"resnet18": (2, 2, 2, 2), "resnet34": (3, 4, 6, 3)}  # basic blocks per stage, as torchvision
_ACTIVATIONS = {nn.ReLU: "nn.ReLU()", nn.Sigmoid: "nn.Sigmoid()", nn.Tanh: "nn.Tanh()", nn.GELU: "nn.GELU()",
                nn.Identity: "nn.Identity()", nn.Flatten: "nn.Flatten()"}


def _shape(shape) -> str:
    return "×".join(str(int(v)) for v in shape)


def _pair(v) -> int | tuple:
    v = tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    return v[0] if v[0] == v[1] else v


def layer_code(m: nn.Module) -> str:
    """The line of PyTorch that makes layer `m` (only arguments that differ from PyTorch's defaults)."""
    if isinstance(m, nn.Conv2d):
        args = [str(m.in_channels), str(m.out_channels), f"kernel_size={_pair(m.kernel_size)}"]
        args += [f"stride={_pair(m.stride)}"] if _pair(m.stride) != 1 else []
        args += [f"padding={_pair(m.padding)}"] if _pair(m.padding) != 0 else []
        args += [f"groups={m.groups}"] if m.groups != 1 else []
        args += ["bias=False"] if m.bias is None else []
        return f"nn.Conv2d({', '.join(args)})"
    if isinstance(m, nn.Linear):
        return f"nn.Linear({m.in_features}, {m.out_features}{'' if m.bias is not None else ', bias=False'})"
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        extra = f", eps={m.eps}" if m.eps != 1e-5 else ""
        extra += f", momentum={m.momentum}" if m.momentum != 0.1 else ""
        return f"nn.{type(m).__name__}({m.num_features}{extra})"
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        name = type(m).__name__
        if _pair(m.stride) != _pair(m.kernel_size) or _pair(m.padding) != 0:
            return f"nn.{name}({_pair(m.kernel_size)}, stride={_pair(m.stride)}, padding={_pair(m.padding)})"
        return f"nn.{name}({_pair(m.kernel_size)})"
    if isinstance(m, nn.AdaptiveAvgPool2d) and _pair(m.output_size) == 1:
        return "nn.AdaptiveAvgPool2d(1)"
    if isinstance(m, nn.LeakyReLU):
        return f"nn.LeakyReLU({m.negative_slope})"
    if isinstance(m, (nn.Dropout, nn.Dropout2d)):
        return f"nn.{type(m).__name__}({m.p})"
    if isinstance(m, GatedConv):
        return f"GatedConv({m.branch_a.in_channels}, {m.branch_a.out_channels}, {layer_code(m.act)})"
    if isinstance(m, Residual) and type(m.act_a) is nn.ReLU and type(m.act_b) is nn.ReLU:
        stride = _pair(m.conv_a.stride)
        return f"Residual({m.conv_a.in_channels}, {m.conv_a.out_channels}{'' if stride == 1 else f', stride={stride}'})"
    if type(m) in _ACTIVATIONS:
        return _ACTIVATIONS[type(m)]
    raise ExportError(f"The layer {type(m).__name__} cannot be written out as code yet; "
                      "export the weights (model.pt) or ONNX instead.")


def _run_facts(info: dict) -> tuple[TrainConfig, tuple[int, int, int], int]:
    try:
        cfg = TrainConfig.from_dict(info["config"])
        return cfg, tuple(int(v) for v in info["input_shape"]), int(info["num_classes"])
    except (KeyError, TypeError, ValueError) as e:
        raise ExportError(f"The run's record lacks what its model needs ({e}); it cannot be written out.") from e


def _meta_model(cfg: TrainConfig, in_shape, num_classes: int) -> tuple[nn.Module, dict]:
    """The run's network with shapes only, and the options it was built with."""
    options = cfg.model_kwargs()
    if options.pop("pretrained", False):
        options["small_stem"] = False  # ImageNet weights come with the 7×7 stem; they are in weights.pt anyway
    try:
        with torch.device("meta"):
            return build_model(cfg.model, in_shape, num_classes, **options), options
    except (ModelError, TypeError, ValueError) as e:
        raise ExportError(f"The run's model cannot be rebuilt: {e}") from e


def _sequential_lines(net: nn.Sequential, in_shape) -> list[str]:
    """One line per layer with the shape it outputs, measured by a forward pass: on uninitialised CPU
    memory (to_empty: no random numbers drawn, only shapes matter), as the meta device's first forward
    pass costs seconds of imports."""
    net = net.to_empty(device="cpu").eval()
    shapes = []
    hooks = [m.register_forward_hook(lambda m, a, out: shapes.append(tuple(out.shape[1:]))) for m in net]
    with torch.no_grad():
        net(torch.zeros(1, *in_shape))
    for h in hooks:
        h.remove()
    codes = [layer_code(m) for m in net]
    width = max(len(c) for c in codes) + 1
    names = getattr(net, "layer_labels", {})  # the builder's generated labels ("Conv 2"), never user text
    tags = [f"{i:>2} {names[str(i)]}" if str(i) in names else f"{i:>2}" for i in range(len(codes))]
    return [f"            {(c + ','):<{width}}  # {tag}: → {_shape(s)}" for c, tag, s in zip(codes, tags, shapes)]


def _header(cfg: TrainConfig, net: nn.Module, in_shape, num_classes: int) -> dict:
    """The docstring's and the constants' values: the model's title from TITLES, the dataset only by a
    catalog name, numbers formatted here."""
    return {"title": TITLES[cfg.model], "dataset": cfg.dataset if cfg.dataset in DATASETS else "a dataset",
            "in_shape": _shape(in_shape), "num_classes": int(num_classes),
            "input_shape": repr(tuple(int(v) for v in in_shape)),
            "params": f"{sum(p.numel() for p in net.parameters()):,}"}


def model_source(info: dict) -> str:
    """model.py for a run (its run.json as `info`): `Net()` builds the architecture, untrained. Made
    only from validated configuration values, never from the run's name or any other user text (see
    the module's comment), so check_source may run it."""
    cfg, in_shape, num_classes = _run_facts(info)
    if not isinstance(cfg.model, str) or cfg.model not in MODELS or cfg.model not in TITLES:
        raise ExportError("The run's model is not one of this app's: it cannot be written out as code.")
    net, options = _meta_model(cfg, in_shape, num_classes)
    values = _header(cfg, net, in_shape, num_classes)
    if cfg.model in RESNET_BLOCKS:
        blocks = RESNET_BLOCKS[cfg.model]
        small_stem = tuple(net.conv1.kernel_size) == (3, 3)
        dropout = net.fc[0].p if isinstance(net.fc, nn.Sequential) else 0.0
        block_dropout = float(options.get("block_dropout", 0.0))
        input_size = int(options.get("input_size", 0))
        values.update(in_channels=int(in_shape[0]), blocks=repr(blocks), dropout=repr(float(dropout)),
                      block_dropout=repr(block_dropout), input_size=input_size, depth=cfg.model[len("resnet"):])
        flags = {"small_stem": small_stem, "dropout": dropout > 0, "block_dropout": block_dropout > 0,
                 "input_size": input_size > 0}
        return render("resnet.py.in", values, flags)
    gated = any(isinstance(m, GatedConv) for m in net)
    residual = any(isinstance(m, Residual) for m in net)
    values.update(layers="\n".join(_sequential_lines(net, in_shape)),
                  summary=textwrap.fill(" ".join((MODELS[cfg.model].__doc__ or "").split("\n\n")[0].split()), 96))
    return render("sequential.py.in", values, {"gated": gated, "residual": residual})


def load_source(source: str, name: str = "model") -> types.ModuleType:
    """Run a generated model.py as a module: only model_source's output, which holds no user text."""
    module = types.ModuleType(name)
    exec(compile(source, f"<{name}.py>", "exec"), module.__dict__)  # noqa: S102 - generated above
    return module


def check_source(source: str, state: dict) -> nn.Module:
    """Net() of `source` with the run's weights loaded strictly, in eval mode; ExportError when they do
    not fit (a bug in the generator, reported rather than shipped)."""
    net = load_source(source).Net()
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0]
        raise ExportError(f"The written-out model does not fit the run's weights ({first}); "
                          "please report this. The weights file itself is fine.") from e
    return net.eval()


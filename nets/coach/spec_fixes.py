"""The doctor's one-click fixes said as configuration changes, for a built-in model or a builder network."""
from __future__ import annotations

from nets.engine.config import TrainConfig
from nets.engine.models import model_options
from nets.engine.netspec import layer

SQUASHING = ("sigmoid", "tanh")


def activation_of(cfg: TrainConfig) -> str:
    """The activation a run uses: the option, or a builder network's first squashing (else first) one."""
    if cfg.activation or cfg.model != "custom":
        return cfg.activation
    types = [d.get("type") for d in cfg.layers]
    return next((t for t in types if t in SQUASHING), "")


def relu_fix(cfg: TrainConfig) -> tuple[str, dict]:
    """'Retry with ReLU' for a sigmoid or tanh network: the option, or each such layer of a builder network."""
    if activation_of(cfg) not in SQUASHING:
        return "", {}
    if cfg.model != "custom":
        return "Retry with ReLU", {"activation": "relu"}
    return "Retry with ReLU", {"layers": tuple(layer("relu") if d["type"] in SQUASHING else d for d in cfg.layers)}


def batch_norm_fix(cfg: TrainConfig) -> dict:
    """Batch norm after each hidden weight layer: the option where the model has it, or BatchNorm layers
    inserted into a builder network; {} when there is nothing to add."""
    if cfg.model != "custom":
        return {"batch_norm": True} if "batch_norm" in model_options(cfg.model) and not cfg.batch_norm else {}
    layers, out = list(cfg.layers), []
    last_linear = max((i for i, d in enumerate(layers) if d["type"] == "linear"), default=-1)
    for i, d in enumerate(layers):
        out.append(d)
        after = layers[i + 1]["type"] if i + 1 < len(layers) else None
        if d["type"] in ("conv", "linear") and i != last_linear and after != "batchnorm":
            out.append(layer("batchnorm"))
    return {"layers": tuple(out)} if len(out) > len(layers) else {}

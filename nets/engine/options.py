"""The settings tables: each model option's kind, label, help and range; each training setting's range."""
# Each stated once: the Train and Anatomy forms, the command line and validate() read these tables. Which
# models take an option, and its default there, is the builder's own signature (models.model_defaults).
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

from nets.engine import netspec
from nets.engine.models import ACTIVATIONS
from nets.engine.pretrained import ARCHES
from nets.parse import int_list


@dataclass(frozen=True)
class Option:
    """One row of the table: a model option (or the frozen backbone) as every form and flag sees it."""
    name: str                  # the TrainConfig field, and the command line's --name
    kind: str                  # sizes, choice, bool, int, float or layers (nets.engine.netspec)
    label: str                 # what a form calls it
    help: str                  # the flag's help and the form's tooltip
    lo: float | None = None    # the range of a number, or of each number in a list of sizes
    hi: float | None = None
    step: float | None = None
    off: int | None = None     # int options: a value outside [lo, hi] that means "not used"
    max_items: int | None = None                 # sizes: how many numbers at most
    choices: dict = field(default_factory=dict)  # choice: the form's value → the config's value
    texts: dict = field(default_factory=dict)    # choice: the form's value → what the menu shows
    per_model: bool = True     # False: a setting of the run whatever the model (the frozen backbone)

    @property
    def noun(self) -> str:
        """What a message calls it: 'hidden sizes', 'dropout', 'input size'."""
        return self.label.lower() if self.kind == "sizes" else self.name.replace("_", " ")

    def widget(self) -> tuple[str, dict]:
        """The Streamlit function that edits this option and its arguments (named as text, so that
        nets needs no streamlit): pages call getattr(st, kind)(label, key=…, **kwargs)."""
        kw: dict = {"help": self.help}
        if self.kind in ("sizes", "layers"):
            return "text_input", kw
        if self.kind == "choice":
            return "selectbox", {**kw, "options": list(self.choices), "format_func": self.text}
        if self.kind == "bool":
            return "checkbox", kw
        if self.kind == "int":
            low = self.lo if self.off is None else min(self.lo, self.off)
            return "number_input", {**kw, "min_value": int(low), "max_value": int(self.hi), "step": int(self.step)}
        return "slider", {**kw, "min_value": float(self.lo), "max_value": float(self.hi), "step": self.step}

    def text(self, key) -> str:
        """A choice as its menu shows it."""
        return self.texts.get(key, key)

    def shown(self, value):
        """A config value as the form's widget holds it: sizes as '256,128', the stem as 'auto'."""
        if self.kind == "sizes":
            return ",".join(map(str, value))
        if self.kind == "layers":
            return netspec.to_text(value)
        if self.kind == "choice":
            return next((k for k, v in self.choices.items() if v == value), next(iter(self.choices)))
        return {"bool": bool, "int": int, "float": float}[self.kind](value)

    def read(self, raw, *, hi: float | None = None, max_items: int | None = None):
        """The config value from a widget or a flag: sizes through nets.parse.int_list (ParseError
        says what is wrong); `hi` and `max_items` may only tighten the table's limits."""
        if self.kind == "sizes":
            return int_list(raw, self.label, lo=int(self.lo), hi=int(min(self.hi, hi or self.hi)),
                            max_items=min(self.max_items, max_items or self.max_items))
        if self.kind == "layers":
            return netspec.from_text(raw)
        if self.kind == "choice":
            return self.choices[raw]
        return {"bool": bool, "int": int, "float": float}[self.kind](raw)

    def problem(self, value) -> str | None:
        """Why `value` cannot be used, for validate(); None when it can."""
        if self.kind == "layers":
            return netspec.problem(value)
        if self.kind == "sizes":
            if len(value) > self.max_items or any(not self.lo <= v <= self.hi for v in value):
                return (f"{self.noun} must be at most {self.max_items} numbers from {self.lo:,} to "
                        f"{self.hi:,}, got {list(value)[:6]}")
        elif self.kind == "choice":
            if value not in self.choices.values():
                return f"{self.noun} '{value}' is not one of {', '.join(str(v) for v in self.choices.values() if v)}"
        elif self.kind in ("int", "float") and value != self.off and not self.lo <= value <= self.hi:
            off = f" (or {self.off}: {self.text(self.off)})" if self.off is not None else ""
            return f"{self.noun} {value:g} must be from {self.lo:g} to {self.hi:g}{off}"
        return None


OPTIONS: dict[str, Option] = {o.name: o for o in (
    Option("hidden", "sizes", "Hidden sizes", "an MLP's hidden layer sizes, e.g. 256,128,64 or 256 128",
           lo=1, hi=16_384, max_items=16),
    Option("channels", "sizes", "Convolution channels", "the convolutions' output channels, e.g. 32,64",
           lo=1, hi=2_048, max_items=16),
    Option("fc", "sizes", "Fully connected sizes", "fully connected sizes after the convolutions, e.g. 256,128",
           lo=1, hi=16_384, max_items=16),
    Option("activation", "choice", "Activation", "the nonlinearity after each layer",
           choices={a: a for a in ACTIVATIONS}),
    Option("dropout", "float", "Dropout", "dropout probability", lo=0.0, hi=0.9, step=0.05),
    Option("batch_norm", "bool", "Batch norm", "batch normalisation after the layers that have it"),
    Option("small_stem", "choice", "Stem", "ResNets: a 3×3 stride-1 stem without max-pool, or ImageNet's "
           "7×7 stem with max-pool; auto: the small stem for images up to 64 px",
           choices={"auto": None, "small": True, "imagenet": False},
           texts={"small": "small (3×3)", "imagenet": "ImageNet (7×7 + max-pool)"}),
    Option("pretrained", "bool", "Start from ImageNet weights",
           "ResNets: start from ImageNet weights, with a new head for these classes"),
    Option("train_blocks", "int", "Train only the last k residual blocks (−1 = all)",
           "ResNets: train only the last k residual blocks and the head", lo=0, hi=16, step=1, off=-1,
           texts={-1: "all"}),
    Option("input_size", "int", "Resize images inside the model to (0 = no)",
           "ResNets: resize images to this square inside the model; with a backbone, the size images "
           "are resized to for it (0: 224)", lo=16, hi=512, step=16, off=0, texts={0: "as they are"}),
    Option("block_dropout", "float", "Dropout after each residual block",
           "ResNets: dropout after every residual block", lo=0.0, hi=0.9, step=0.05),
    Option("layers", "layers", "Layers", "the network, layer by layer: e.g. conv_8_k3_p1,relu,maxpool_2,flatten,"
           "linear (build it on the Build page)", max_items=netspec.MAX_LAYERS),
    Option("whiten", "choice", "First layer", "airbench: a frozen 2×2 patch-whitening convolution set from "
           "the training images' patches, or an ordinary trainable one",
           choices={"whitening (frozen)": True, "trainable": False}),
    Option("bn_fp32", "choice", "Batch norm precision", "airbench: batch norm computed in float32 under mixed "
           "precision, or in the half precision of the layers around it",
           choices={"float32": True, "as the other layers": False}),
    Option("backbone", "choice", "Train on frozen features of",
           "train an mlp head on the frozen features of this ImageNet network",
           choices={"": "", **{a: a for a in ARCHES}},
           texts={"": "nothing: train on the pixels", **{a: f"{a} (ImageNet)" for a in ARCHES}}, per_model=False),
)}


@dataclass(frozen=True)
class Setting:
    """The range of one numeric training setting (not a model option), as validate() checks it and
    the Train form's widget allows it."""
    name: str                  # the TrainConfig field
    kind: str                  # int or float
    noun: str                  # what a message calls it
    lo: float
    hi: float | None = None    # None: no upper limit
    step: float | None = None  # the form's step
    above: bool = False        # lo itself is refused (a learning rate of 0 learns nothing)
    below: bool = False        # hi itself is refused (a weight decay of 1 wipes the weights out)

    def widget(self, bounded: bool = True) -> dict:
        """min_value, max_value and step for st.number_input or st.slider, typed as the setting is
        (Streamlit refuses an int bound with a float step). `bounded=False` (a typed number): the step
        only, so what was typed (epochs 0, a learning rate of -1) reaches validate(), which says why
        it cannot train, instead of the box quietly keeping another value."""
        cast = int if self.kind == "int" else float
        if not bounded:
            return {} if self.step is None else {"step": cast(self.step)}
        kw = {"min_value": cast(self.lo)}
        if self.hi is not None:
            kw["max_value"] = cast(self.hi)
        if self.step is not None:
            kw["step"] = cast(self.step)
        return kw

    def range_text(self) -> str:
        """'from 1 to 10,000', 'above 0 and at most 1,000', 'at least 0', 'from 0 to below 1'."""
        low = f"above {self.lo:,g}" if self.above else f"at least {self.lo:,g}"
        if self.hi is None:
            return low
        if not self.above and not self.below:
            return f"from {self.lo:,g} to {self.hi:,g}"
        return f"{low} and {'below' if self.below else 'at most'} {self.hi:,g}"

    def problem(self, value) -> str | None:
        """Why `value` cannot be used, for validate(); None when it can (NaN and ∞ never can)."""
        ok = (isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
              and (value > self.lo if self.above else value >= self.lo)
              and (self.hi is None or (value < self.hi if self.below else value <= self.hi)))
        return None if ok else f"the {self.noun} must be {self.range_text()}; you typed {_typed(value)}"


def _typed(value) -> str:
    """A refused value as the user typed it: -1, 0, 0.0001, nan."""
    return f"{value:g}" if isinstance(value, numbers.Real) and not isinstance(value, bool) else str(value)


SETTINGS: dict[str, Setting] = {s.name: s for s in (
    Setting("image_size", "int", "image size", lo=8, hi=512, step=4),
    Setting("val_fraction", "float", "validation fraction", lo=0.0, hi=0.9, step=0.05),
    Setting("train_per_class", "int", "number of training images per class", lo=0, step=50),
    Setting("train_fraction", "float", "training fraction", lo=0.0, hi=1.0, step=0.05, above=True),
    Setting("lr", "float", "learning rate", lo=0.0, hi=1000.0, step=0.001, above=True),
    Setting("momentum", "float", "momentum", lo=0.0, hi=0.99, step=0.01),
    Setting("weight_decay", "float", "weight decay", lo=0.0, hi=1.0, step=0.0001, below=True),
    Setting("epochs", "int", "number of epochs", lo=1, hi=10_000, step=1),
    Setting("batch_size", "int", "batch size", lo=1, hi=65_536, step=1),
    Setting("step_size", "int", "step size (epochs between decays)", lo=1, step=1),
    Setting("gamma", "float", "gamma (decay factor)", lo=0.0, hi=1.0, step=0.05, above=True),
    Setting("clip_grad", "float", "gradient clipping", lo=0.0, step=0.1),
    Setting("patience", "int", "early stopping patience", lo=0, hi=10_000, step=1),
    Setting("converge_patience", "int", "convergence patience", lo=0, hi=10_000, step=1),
    Setting("converge_delta", "float", "convergence delta", lo=0.0, step=0.0005),
    Setting("seed", "int", "seed", lo=0, step=1),
    Setting("label_smoothing", "float", "label smoothing", lo=0.0, hi=1.0, step=0.05, below=True),
    Setting("lookahead", "int", "number of steps between Lookahead syncs", lo=0, hi=10_000, step=1),
    Setting("lookahead_alpha", "float", "Lookahead alpha", lo=0.0, hi=1.0, step=0.05, above=True),
    Setting("tta", "int", "test-time augmentation level", lo=0, hi=2, step=1),
    Setting("log_every", "int", "log_every", lo=1, step=1),
    Setting("log_seconds", "float", "log_seconds", lo=0.0, hi=3600.0, step=0.05),
    Setting("stats_every", "int", "steps between layer statistics", lo=0, hi=10_000, step=1),
)}

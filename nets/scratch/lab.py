"""The From-scratch page's runs as jobs of the server's job service: settings, the work, the state.

A lab job is a `LabWork` (a nets.work.Work) submitted to the job service (`submit_lab`) like a
training job: it waits in the same queue under the same cap and owner rules. Its `run` (in a worker
process, a thread or a Ray task) reports plain messages; the service applies them to the job's
`LabState`, and pages read `LabView` copies. Two modes:
- "single": one NumPy network, and (optionally) its PyTorch twin from the same initial weights on the
  same batches, epoch by epoch, so both loss curves grow side by side;
- "compare": the same network with ReLU, tanh, sigmoid and linear hidden layers, one after another.
"""
from __future__ import annotations

import base64
import io
import threading
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass

import numpy as np

from nets.engine.catalog import DATASETS, FOLDER
from nets.engine.config import ConfigError
from nets.engine.data import DatasetError
from nets.parse import int_list
from nets.scratch.network import (DEFAULT_HIDDEN, HIDDEN_ACTIVATIONS, INITS, SCALES, Network, ScratchData, ScratchError,
                                  describe_init, epoch_order, fit, init_std, load_scratch_data)
from nets.scratch.report import COMPARED, NUMPY, TORCH, collapse_linear, identical_units, label_of, lessons
from nets.scratch.threads import one_thread_each
from nets.status import Status
from nets.work import WORK_KEY, JobFields, JobRefused, RunlessWork, class_path


@dataclass(frozen=True)
class LabSettings:
    dataset: str = "fashion-mnist-mini"  # bundled: the page works on a machine with no network
    hidden: tuple = DEFAULT_HIDDEN
    activation: str = "relu"
    init: str = "normal"
    scale: str | float = "he"
    lr: float = 0.1
    epochs: int = 10
    batch_size: int = 32
    seed: int = 0
    mode: str = "single"          # or "compare"
    twin: bool = True             # single mode: train the PyTorch twin beside it

    def check(self) -> None:
        if self.dataset not in lab_datasets():
            raise ScratchError(f"Unknown dataset {self.dataset!r}: one of {', '.join(lab_datasets())}.")
        if self.activation not in HIDDEN_ACTIVATIONS:
            raise ScratchError(f"Unknown activation {self.activation!r}.")
        if self.init not in INITS:
            raise ScratchError(f"Unknown initialisation {self.init!r}.")
        if self.mode not in ("single", "compare"):
            raise ScratchError(f"Unknown mode {self.mode!r}: single or compare.")
        if not self.hidden or min(self.hidden) < 1:
            raise ScratchError("Give at least one hidden layer, every size at least 1.")
        if self.lr <= 0 or self.epochs < 1 or self.batch_size < 1:
            raise ScratchError("Learning rate must be > 0, epochs and batch size at least 1.")
        init_std(1, self.scale)

    def label(self) -> str:
        """The job's name in job lists."""
        what = "ReLU, tanh, sigmoid, linear" if self.mode == "compare" else self.activation
        return f"from scratch · {'-'.join(map(str, self.hidden))} {what} · {self.dataset} · lr {self.lr:g}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "LabSettings":
        return cls(**{**d, "hidden": tuple(d.get("hidden", DEFAULT_HIDDEN))})


def lab_datasets() -> list[str]:
    """The datasets the lab trains on: every named one of nets.engine.catalog (an image folder needs a
    path and an image size the lab does not ask for)."""
    return [d for d in DATASETS if d != FOLDER]


# How the page shows the choices of initialisation and of the initial weights' standard deviation.
INIT_LABELS = {"normal": "normal", "random": "random (uniform)", "zero": "zero"}
SCALE_LABELS = {"he": f"He: {SCALES['he']}", "xavier": f"Xavier: {SCALES['xavier']}", "0.01": "0.01", "0.1": "0.1",
                "1.0": "1"}


def parse_hidden(text: str) -> tuple[int, ...]:
    """The typed hidden sizes ("256,128,64"), with check's rule: at least one layer, each at least 1.
    Raises nets.parse.ParseError."""
    return int_list(text, "Hidden layer sizes", allow_empty=False)


def describe_layers(hidden, activation: str, init: str, scale) -> str:
    """The network the settings make and its initial weights' scale, in a sentence (for 28×28 images)."""
    return (f"Layers: input-{'-'.join(map(str, hidden))}-classes, {activation} between them, softmax at the "
            f"output. Initial weights: {describe_init((784, *hidden), init, scale)} (for 28×28 images).")


# ------------------------------------------------------------------ what the server keeps
@dataclass(kw_only=True)
class LabView(JobFields):
    """A lab job as a page reads it: the job's fields (nets.server.job.JobFields), and what it learnt."""
    settings: LabSettings
    runs: dict                       # label → list of per-epoch records
    results: dict                    # label → {"train_acc", "val_acc", "test_acc", "epochs", ...}
    evidence: dict                   # label → {"identical units": [per layer], "one-layer gap": …}
    classes: list
    weights: dict                    # label → the trained network's .npz bytes (the one the page offers)

    def lessons(self) -> list[str]:
        return lessons(self)


class LabState:
    """What a lab job has reported so far. The job service applies the work's messages here under
    the job's lock (`apply`) and copies it out for pages (`view`)."""

    def __init__(self, settings: LabSettings):
        self.settings = settings
        self.runs: dict[str, list] = {}
        self.results: dict = {}
        self.evidence: dict = {}
        self.classes: list = []
        self.weights: dict[str, bytes] = {}
        self.started_info: dict | None = None

    def apply(self, message: dict) -> None:
        op, label = message.get("op"), message.get("label")
        if message.get("type") != "lab":
            return
        if op == "record":
            self.runs.setdefault(label, []).append(dict(message["record"]))
        elif op == "result":
            self.results[label] = dict(message["result"])
            if message.get("evidence"):
                self.evidence[label] = dict(message["evidence"])
        elif op == "classes":  # the first message once the data is loaded: training starts
            self.classes = list(message["classes"])
            self.started_info = {"device": "cpu"}
        elif op == "weights":
            self.weights[label] = base64.b64decode(message["npz"])

    def view(self, common: dict) -> LabView:
        """The state with the job's common fields (nets.server.job.Job: id, status, times, error)."""
        return LabView(**common, started_info=dict(self.started_info) if self.started_info else None,
                       settings=self.settings, runs={k: [dict(r) for r in v] for k, v in self.runs.items()},
                       results={k: dict(v) for k, v in self.results.items()},
                       evidence={k: dict(v) for k, v in self.evidence.items()}, classes=list(self.classes),
                       weights=dict(self.weights))


# ------------------------------------------------------------------ the work
class LabRefused(JobRefused, ScratchError):
    """A NumPy-lab job refused: the From-scratch page shows a ScratchError's message, the Train page a
    ConfigError's; this is both."""


@dataclass
class LabWork(RunlessWork):
    """A From-scratch run as a job (nets.work.Work): it saves no run; its weights travel in its messages."""
    settings: LabSettings
    data_dir: str | None = None
    kind = "lab"
    refusal = LabRefused
    known = (ScratchError, DatasetError, ConfigError)

    def label(self) -> str:
        return self.settings.label()

    def spec(self) -> dict:
        return {WORK_KEY: class_path(self), "settings": self.settings.to_dict(),
                "data_dir": None if self.data_dir is None else str(self.data_dir)}

    @classmethod
    def from_spec(cls, spec: dict) -> LabWork:
        return cls(LabSettings.from_dict(spec["settings"]), spec.get("data_dir"))

    def tracker(self) -> LabState:
        return LabState(self.settings)

    def check(self, service) -> None:
        self.settings.check()

    def run(self, emit, stop: threading.Event, cache, own_process: bool = False) -> dict:
        """Load the data through `cache` (nets.work.DataCache; a download reports phase messages),
        train, report through `emit`. Returns the outcome: "completed" or "stopped". `own_process`: this
        process is the job's, so it may set thread counts (see nets.scratch.threads.one_thread_each)."""
        s, data_dir = self.settings, self.data_dir

        def on_progress(text: str, fraction: float | None = None) -> None:
            emit({"type": "phase", "text": text, "fraction": fraction})

        data = cache.load(("scratch", s.dataset, str(data_dir), s.seed),
                          lambda: load_scratch_data(s.dataset, data_dir, s.seed, download=True,
                                                    on_progress=on_progress))
        emit({"type": "phase", "text": None, "fraction": None})
        with one_thread_each() if own_process else nullcontext():
            train_lab(s, data, emit, stop)
        return {"status": Status.STOPPED if stop.is_set() else Status.COMPLETED}

    def resources(self, cluster_gpus: float, cpus_per_job: float) -> dict:
        return {"num_cpus": cpus_per_job, "num_gpus": 0.0}  # NumPy: no GPU


def lab_message(op: str, **fields) -> dict:
    return {"type": "lab", "op": op, **fields}


def plain(record: dict) -> dict:
    """NumPy scalars as Python numbers: messages travel as JSON between processes."""
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in record.items()}


def train_lab(s: LabSettings, data: ScratchData, emit, stop: threading.Event) -> None:
    emit(lab_message("classes", classes=list(data.classes)))
    sizes = (data.x_train.shape[1], *s.hidden, len(data.classes))
    for act in (COMPARED if s.mode == "compare" else (s.activation,)):
        label = label_of(act, s)
        net = Network(sizes, act, s.init, s.scale, seed=s.seed)
        twin = TwinRun(s, net, data, emit, stop) if s.mode == "single" and s.twin else None

        def on_epoch(rec: dict, label=label, twin=twin) -> None:
            emit(lab_message("record", label=label, record=plain(rec)))
            if twin:
                twin.epoch(rec["epoch"])

        history = fit(net, data, s.epochs, s.lr, s.batch_size, s.seed, on_epoch=on_epoch, stop=stop)
        finish_run(s, label, net, data, history, emit)
        if twin:
            twin.finish()
        if stop.is_set():
            break


def finish_run(s: LabSettings, label: str, net: Network, data: ScratchData, history: list[dict], emit) -> None:
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged network holds inf and NaN
        result = {"epochs": len(history), "test_acc": net.score(data.x_test, data.y_test)}
        if history:
            result |= {"train_acc": history[-1]["train_acc"], "val_acc": history[-1]["val_acc"]}
        evidence = {}
        if s.init == "zero":
            evidence["identical units"] = identical_units(net)
        if net.activation == "linear":
            W, b = collapse_linear(net)
            x = data.x_test[:1000]
            evidence["one-layer gap"] = float(np.abs(x.astype(np.float64) @ W.T + b - net.logits(x)).max())
    emit(lab_message("result", label=label, result=plain(result), evidence=evidence))
    if label == NUMPY:  # the page offers this one for download
        buf = io.BytesIO()
        net.save(buf)
        emit(lab_message("weights", label=label, npz=base64.b64encode(buf.getvalue()).decode("ascii")))


class TwinRun:
    """The PyTorch twin of a job's NumPy network, trained one epoch after each NumPy epoch on the
    same batches (the shuffle is a function of seed and epoch), so the two curves grow together."""

    def __init__(self, s: LabSettings, net: Network, data: ScratchData, emit, stop: threading.Event):
        from nets.scratch.twin import as_tensors, torch_twin
        self.s, self.data, self.emit, self.stop = s, data, emit, stop
        self.model = torch_twin(net)  # before the first step: the same initial weights
        self.x, self.y = as_tensors(data.x_train, data.y_train, self.model)
        self.records: list[dict] = []

    def epoch(self, epoch: int) -> None:
        from nets.scratch.twin import as_tensors, twin_evaluate, twin_sgd_epoch
        started = time.perf_counter()
        order = epoch_order(self.s.seed, epoch, len(self.x))
        trained = twin_sgd_epoch(self.model, self.x, self.y, order, self.s.lr, self.s.batch_size, self.stop)
        if trained is None:  # stopped half-way: an incomplete epoch is not comparable
            return
        val_loss, val_acc = twin_evaluate(self.model, *as_tensors(self.data.x_val, self.data.y_val, self.model))
        record = {"epoch": epoch, "train_loss": trained[0], "train_acc": trained[1], "val_loss": val_loss,
                  "val_acc": val_acc, "seconds": time.perf_counter() - started}
        self.records.append(record)
        self.emit(lab_message("record", label=TORCH, record=record))

    def finish(self) -> None:
        from nets.scratch.twin import as_tensors, twin_evaluate
        result = {"epochs": len(self.records),
                  "test_acc": twin_evaluate(self.model, *as_tensors(self.data.x_test, self.data.y_test, self.model))[1]}
        if self.records:
            result |= {"train_acc": self.records[-1]["train_acc"], "val_acc": self.records[-1]["val_acc"]}
        self.emit(lab_message("result", label=TORCH, result=result))

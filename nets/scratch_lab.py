"""The From-scratch page's logic: runs in the background, what they show, and what to explain.

A lab job trains in a worker thread and writes per-epoch records into its own object under a lock;
the page only reads `view()` copies. Two kinds of job:
- "single": one NumPy network, and (optionally) its PyTorch twin from the same initial weights on the
  same batches, epoch by epoch, so both loss curves grow side by side;
- "compare": the same network with ReLU, tanh, sigmoid and linear hidden layers, one after another.
The registry is per server process (this module is imported once), so a job outlives page changes.
"""
from __future__ import annotations

import io
import re
import threading
import time
import traceback
import uuid
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .scratch import (ACTIVATIONS, DEFAULT_HIDDEN, INITS, Network, ScratchData, ScratchError, epoch_order, fit,
                      init_std, load_scratch_data)
from .scratch_bench import numpy_blas_threads
from .scratch_report import COMPARED, NUMPY, TORCH, collapse_linear, identical_units, label_of, lessons


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
        if self.activation not in ACTIVATIONS:
            raise ScratchError(f"Unknown activation {self.activation!r}.")
        if self.init not in INITS:
            raise ScratchError(f"Unknown initialisation {self.init!r}.")
        if not self.hidden or min(self.hidden) < 1:
            raise ScratchError("Give at least one hidden layer, every size at least 1.")
        if self.lr <= 0 or self.epochs < 1 or self.batch_size < 1:
            raise ScratchError("Learning rate must be > 0, epochs and batch size at least 1.")
        init_std(1, self.scale)


def parse_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(v) for v in re.split(r"[,\s]+", text.strip()) if v)
    except ValueError:
        raise ScratchError("Hidden sizes must be whole numbers separated by commas, like 256,128,64.") from None
    if not sizes or min(sizes) < 1:
        raise ScratchError("Give at least one hidden layer, every size at least 1.")
    return sizes


# ------------------------------------------------------------------ jobs
@dataclass
class LabView:
    id: str
    settings: LabSettings
    status: str                      # running, completed, stopped, failed
    runs: dict                       # label → list of per-epoch records
    results: dict                    # label → {"train_acc", "val_acc", "test_acc", "epochs", ...}
    evidence: dict                   # label → {"identical units": [per layer], "one-layer gap": …}
    classes: list
    error: str | None
    started: float
    ended: float | None = None

    @property
    def active(self) -> bool:
        return self.status == "running"

    def lessons(self) -> list[str]:
        return lessons(self)


class LabJob:
    def __init__(self, settings: LabSettings):
        self.id, self.settings = uuid.uuid4().hex, settings
        self.stop_event = threading.Event()
        self._lock = threading.Lock()
        self.status, self.error, self.started, self.ended = "running", None, time.time(), None
        self.runs: OrderedDict[str, list] = OrderedDict()
        self.results: dict = {}
        self.evidence: dict = {}
        self.classes: list = []
        self.nets: dict[str, Network] = {}

    def request_stop(self) -> None:
        self.stop_event.set()

    def record(self, label: str, rec: dict) -> None:
        with self._lock:
            self.runs.setdefault(label, []).append(dict(rec))

    def _set(self, **fields) -> None:
        with self._lock:
            for k, v in fields.items():
                setattr(self, k, v)

    def view(self) -> LabView:
        with self._lock:
            return LabView(self.id, self.settings, self.status,
                           {k: [dict(r) for r in v] for k, v in self.runs.items()},
                           {k: dict(v) for k, v in self.results.items()},
                           {k: dict(v) for k, v in self.evidence.items()}, list(self.classes),
                           self.error, self.started, self.ended)

    def weights_npz(self, label: str = NUMPY) -> bytes | None:
        """The trained network's weights as the bytes of a .npz file (for a download button)."""
        with self._lock:
            net = self.nets.get(label)
        if net is None:
            return None
        buf = io.BytesIO()
        net.save(buf)
        return buf.getvalue()

    # -------------------------------------------------------------- the worker
    def work(self, data: ScratchData) -> None:
        s = self.settings
        self._set(classes=list(data.classes))
        sizes = (data.x_train.shape[1], *s.hidden, len(data.classes))
        try:
            for act in (COMPARED if s.mode == "compare" else (s.activation,)):
                label = label_of(act, s)
                net = Network(sizes, act, s.init, s.scale, seed=s.seed)
                twin = TwinRun(self, net, data) if s.mode == "single" and s.twin else None
                on_epoch = twin.after_numpy_epoch if twin else (lambda rec, label=label: self.record(label, rec))
                history = fit(net, data, s.epochs, s.lr, s.batch_size, s.seed, on_epoch=on_epoch,
                              stop=self.stop_event)
                self._finish_run(label, net, data, history)
                if twin:
                    twin.finish()
                if self.stop_event.is_set():
                    break
            self._set(status="stopped" if self.stop_event.is_set() else "completed")
        except Exception as e:  # the job fails, the server goes on
            self._set(status="failed", error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc())
        finally:
            self._set(ended=time.time())

    def _finish_run(self, label: str, net: Network, data: ScratchData, history: list[dict]) -> None:
        with np.errstate(over="ignore", invalid="ignore"):  # a diverged network holds inf and NaN
            result = {"epochs": len(history), "test_acc": net.score(data.x_test, data.y_test)}
            if history:
                result |= {"train_acc": history[-1]["train_acc"], "val_acc": history[-1]["val_acc"]}
            evidence = {}
            if self.settings.init == "zero":
                evidence["identical units"] = identical_units(net)
            if net.activation == "linear":
                W, b = collapse_linear(net)
                x = data.x_test[:1000]
                evidence["one-layer gap"] = float(np.abs(x.astype(np.float64) @ W.T + b - net.logits(x)).max())
        self.set_result(label, result, evidence, net)

    def set_result(self, label: str, result: dict, evidence: dict | None = None, net: Network | None = None) -> None:
        with self._lock:
            self.results[label] = result
            if evidence is not None:
                self.evidence[label] = evidence
            if net is not None:
                self.nets[label] = net


class TwinRun:
    """The PyTorch twin of a job's NumPy network, trained one epoch after each NumPy epoch on the
    same batches (the shuffle is a function of seed and epoch), so the two curves grow together."""

    def __init__(self, job: LabJob, net: Network, data: ScratchData):
        from .scratch_torch import as_tensors, torch_twin
        self.job, self.data = job, data
        self.model = torch_twin(net)  # before the first step: the same initial weights
        self.x, self.y = as_tensors(data.x_train, data.y_train, self.model)

    def after_numpy_epoch(self, rec: dict) -> None:
        from .scratch_torch import as_tensors, torch_threads, twin_evaluate, twin_sgd_epoch
        s = self.job.settings
        self.job.record(NUMPY, rec)
        started = time.perf_counter()
        order = epoch_order(s.seed, rec["epoch"], len(self.x))
        with torch_threads(1):
            trained = twin_sgd_epoch(self.model, self.x, self.y, order, s.lr, s.batch_size, self.job.stop_event)
            if trained is None:  # stopped half-way: an incomplete epoch is not comparable
                return
            val_loss, val_acc = twin_evaluate(self.model, *as_tensors(self.data.x_val, self.data.y_val, self.model))
        self.job.record(TORCH, {"epoch": rec["epoch"], "train_loss": trained[0], "train_acc": trained[1],
                                "val_loss": val_loss, "val_acc": val_acc, "seconds": time.perf_counter() - started})

    def finish(self) -> None:
        from .scratch_torch import as_tensors, twin_evaluate
        records = self.job.view().runs.get(TORCH, [])
        result = {"epochs": len(records),
                  "test_acc": twin_evaluate(self.model, *as_tensors(self.data.x_test, self.data.y_test, self.model))[1]}
        if records:
            result |= {"train_acc": records[-1]["train_acc"], "val_acc": records[-1]["val_acc"]}
        self.job.set_result(TORCH, result)


class LabRegistry:
    """This server's lab jobs; at most `max_running` train at once (each takes a core).

    NumPy's BLAS is set to `blas_threads` (process-wide) before a job starts: with the small matrices
    of batch-32 training, two OpenBLAS threads gain little on an idle machine and were 14× slower on
    a busy one (nets/scratch_bench.py). None leaves it as configured."""

    def __init__(self, max_running: int = 2, keep: int = 20, blas_threads: int | None = 1):
        self.max_running, self.keep, self.blas_threads = max_running, keep, blas_threads
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, LabJob] = OrderedDict()
        self._data: OrderedDict[tuple, ScratchData] = OrderedDict()
        self._data_lock = threading.Lock()

    def data(self, dataset: str, data_dir, seed: int, on_progress=None) -> ScratchData:
        key = (dataset, str(data_dir), seed)
        with self._data_lock:  # one copy per dataset, however many jobs start
            if key not in self._data:
                self._data[key] = load_scratch_data(dataset, data_dir, seed, download=True,
                                                    on_progress=on_progress)
                while len(self._data) > 2:
                    self._data.popitem(last=False)
            self._data.move_to_end(key)
            return self._data[key]

    def submit(self, settings: LabSettings, data_dir=None, on_progress=None) -> LabJob:
        """Check the settings and load the data in the caller's thread, so that a mistake or a
        missing dataset is reported at once (a download reports `on_progress(text, fraction)`);
        then train in a worker thread."""
        settings.check()
        if self.blas_threads is not None:
            numpy_blas_threads(self.blas_threads)
        data = self.data(settings.dataset, data_dir, settings.seed, on_progress)
        job = LabJob(settings)
        with self._lock:  # the cap is checked and the job entered at once: two clicks cannot both pass
            if sum(j.status == "running" for j in self._jobs.values()) >= self.max_running:
                raise ScratchError(f"{self.max_running} lab runs are training already: stop one or wait.")
            self._jobs[job.id] = job
            finished = [k for k, j in self._jobs.items() if j.status != "running"]
            for k in finished[:max(0, len(finished) - self.keep)]:
                del self._jobs[k]
        threading.Thread(target=job.work, args=(data,), name=f"scratch-{job.id[:8]}", daemon=True).start()
        return job

    def get(self, job_id: str | None) -> LabJob | None:
        with self._lock:
            return self._jobs.get(job_id) if job_id else None

    def view(self, job_id: str | None) -> LabView | None:
        job = self.get(job_id)
        return job.view() if job else None

    def wait(self, job_id: str, timeout: float = 60.0) -> LabView:
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = self.view(job_id)
            if v is None or not v.active:
                return v
            time.sleep(0.02)
        raise TimeoutError(f"lab job {job_id} still running after {timeout}s")


REGISTRY = LabRegistry()

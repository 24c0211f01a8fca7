"""Penultimate features of a fixed test subset at each epoch end: a run's features-eNNNN.npz files.

At the end of every epoch (the `EpochEnd` event: the model then holds that epoch's weights) the first
`SUBSET` test images (all of them when fewer) go through the model once, in eval mode and without
gradients; the input of its last Linear layer is kept, float16, N×D, with the predictions. D is capped
at `MAX_DIM`: wider features are multiplied by one fixed Gaussian random projection to 512 dimensions
(seed `PROJECTION_SEED`, entries N(0, 1/512); distances are kept up to a few per cent, Johnson–
Lindenstrauss), the same matrix in every epoch and every run of that width. Plain arrays, read with
allow_pickle=False. The Feature projector page draws them with an epoch slider.
"""
from __future__ import annotations

import io
import re
import time

import numpy as np
import torch
from torch import nn

from nets.engine.data import ImageData, stats_tensors, to_input
from nets.engine.events import Diverged, EpochEnd, Finished, Stopped
from nets.files import atomic_write_bytes
from nets.runs.folder import Run

SUBSET = 1000
MAX_DIM = 512
PROJECTION_SEED = 25
BATCH = 250
PATTERN = re.compile(r"features-e(\d{4})\.npz")


def feature_file(epoch: int) -> str:
    return f"features-e{epoch:04d}.npz"


def projection_matrix(d: int, out: int = MAX_DIM, seed: int = PROJECTION_SEED) -> np.ndarray:
    """The fixed d×out Gaussian random projection (entries N(0, 1/out)) for features wider than out."""
    return (np.random.default_rng(seed).standard_normal((d, out)) / np.sqrt(out)).astype(np.float32)


def last_linear(model: nn.Module) -> nn.Linear:
    """The model's classifier: its last nn.Linear."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"{type(model).__name__} has no Linear layer: no penultimate features.")
    return linears[-1]


@torch.no_grad()
def subset_features(model: nn.Module, x: torch.Tensor, mean, std, scale: float = 255.0
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(features N×D float32, predictions N) of uint8 images `x` (N×C×H×W, on the model's device), in
    eval mode in batches of BATCH; the model's training mode is restored afterwards."""
    device = next(model.parameters()).device
    mean_t, std_t = stats_tensors(mean, std, device)
    captured: list[torch.Tensor] = []
    handle = last_linear(model).register_forward_pre_hook(lambda m, inp: captured.append(inp[0].detach()))
    was_training = model.training
    model.eval()
    preds = []
    try:
        for i in range(0, len(x), BATCH):
            xb = to_input(x[i:i + BATCH].to(device), mean_t, std_t, scale)
            preds.append(model(xb).argmax(1))
    finally:
        handle.remove()
        model.train(was_training)
    feats = torch.cat([c.flatten(1).float() for c in captured]).cpu().numpy()
    return feats, torch.cat(preds).cpu().numpy()


def save_epoch_features(run: Run, epoch: int, features: np.ndarray, labels: np.ndarray,
                        predictions: np.ndarray, projected: bool) -> None:
    buf = io.BytesIO()
    np.savez(buf, epoch=np.int64(epoch), features=features.astype(np.float16), labels=labels.astype(np.int16),
             predictions=predictions.astype(np.int16), projected=np.bool_(projected))
    atomic_write_bytes(run.path / feature_file(epoch), buf.getvalue())


def feature_epochs(run: Run) -> list[int]:
    """The epochs whose features the run holds, in order."""
    return sorted(int(m.group(1)) for p in run.path.glob("features-e*.npz") if (m := PATTERN.fullmatch(p.name)))


def load_epoch_features(run: Run, epoch: int) -> dict | None:
    """{features (N×D float32), labels, predictions (int64), projected (bool)} of one epoch, or None
    (missing or unreadable)."""
    try:
        with np.load(run.path / feature_file(epoch), allow_pickle=False) as z:
            return {"features": z["features"].astype(np.float32), "labels": z["labels"].astype(np.int64),
                    "predictions": z["predictions"].astype(np.int64), "projected": bool(z["projected"])}
    except (OSError, ValueError, KeyError):
        return None


class EpochFeatures:
    """A training listener: at each EpochEnd, the subset's penultimate features into the run folder.

    The engine's events carry no model, so it holds the model being trained, and it costs no forward
    pass of its own: hooks on the model keep the last Linear layer's inputs (and the outputs' argmax)
    of the first eval-mode batches after training whose first images are the subset's, i.e. of the
    engine's test evaluation at the epoch's end (nets.engine.train._epoch_end). When that pass was not
    seen (another evaluation order, a smaller batch), the subset is run through the model at EpochEnd.
    tests/test_epoch_features.py checks the saved features against a separate forward pass."""

    CHECK = 4  # images compared to recognise the subset's batch

    def __init__(self, run: Run, model: nn.Module, data: ImageData, subset: int = SUBSET):
        self.run, self.model, self.data = run, model, data
        self.n = min(subset, len(data.x_test))
        self.x, self.labels = data.x_test[:self.n], data.y_test[:self.n].numpy()
        self.matrix: np.ndarray | None = None
        self.expected: torch.Tensor | None = None  # the model input of the subset's first images
        self.seconds = 0.0                          # spent here (hooks and files), for the cost measurement
        self.captured_epochs = 0                    # epochs taken from the engine's own evaluation
        self._reset()
        # closures handed to torch: the engine that runs the model calls back, it never knows this class
        self.handles = [model.register_forward_pre_hook(lambda m, a: self._batch_in(m, a)),
                        last_linear(model).register_forward_pre_hook(lambda m, a: self._features(m, a)),
                        model.register_forward_hook(lambda m, a, out: self._batch_out(m, a, out))]

    def _reset(self) -> None:
        self.feats: list[torch.Tensor] = []
        self.preds: list[torch.Tensor] = []
        self.have, self.capturing, self.done = 0, False, False

    def _batch_in(self, module, args) -> None:
        if module.training:
            if self.have or self.done:
                self._reset()
            return
        if self.done or self.capturing or not self.n:
            return
        t = time.perf_counter()
        xb = args[0] if args else None
        k = min(self.CHECK, self.n)
        if isinstance(xb, torch.Tensor) and xb.dim() >= 2 and len(xb) >= k:
            if self.expected is None or self.expected.device != xb.device:
                mean, std = stats_tensors(self.data.mean, self.data.std, xb.device)
                self.expected = to_input(self.x[:k].to(xb.device), mean, std, self.data.scale)
            if xb.shape[1:] == self.expected.shape[1:]:
                self.capturing = torch.allclose(xb[:k].float(), self.expected, rtol=0, atol=1e-6)
        self.seconds += time.perf_counter() - t

    def _features(self, module, args) -> None:
        if self.capturing:
            t = time.perf_counter()
            self.feats.append(args[0][:self.n - self.have].detach().flatten(1).float().cpu())
            self.seconds += time.perf_counter() - t

    def _batch_out(self, module, args, out) -> None:
        if self.capturing:
            t = time.perf_counter()
            took = out[:self.n - self.have].detach().argmax(1).cpu()
            self.preds.append(took)
            self.have += len(took)
            if self.have >= self.n:
                self.capturing, self.done = False, True
            self.seconds += time.perf_counter() - t

    def __call__(self, event) -> None:
        if isinstance(event, EpochEnd) and self.n:
            self.record(event.epoch)
        elif isinstance(event, (Finished, Stopped, Diverged)):
            self.close()

    def close(self) -> None:
        """Remove the hooks (the model is evaluated and saved without them)."""
        for h in self.handles:
            h.remove()
        self.handles = []

    def record(self, epoch: int) -> None:
        t = time.perf_counter()
        if self.done and len(self.feats) == len(self.preds):
            self.captured_epochs += 1
        else:  # the engine's evaluation was not seen: one pass of the subset, through the same hooks
            from nets.engine.evaluate import predict_logits
            self._reset()
            self.capturing = True
            predict_logits(self.model, self.x, self.data.mean, self.data.std, BATCH, scale=self.data.scale)
        feats, preds = torch.cat(self.feats).numpy(), torch.cat(self.preds).numpy()
        self._reset()
        projected = feats.shape[1] > MAX_DIM
        if projected:
            if self.matrix is None:
                self.matrix = projection_matrix(feats.shape[1])
            feats = feats @ self.matrix
        save_epoch_features(self.run, epoch, feats, self.labels, preds, projected)
        self.seconds += time.perf_counter() - t

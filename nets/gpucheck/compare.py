"""A trained model's logits and loss on a fixed batch, on the device under a setting against the CPU in float32, within a tolerance per precision."""
from __future__ import annotations

import copy
from contextlib import nullcontext
from dataclasses import dataclass

import torch
import torch.nn.functional as F

# Largest difference allowed, relative to the reference's scale (max(1, its largest |value|)). float32 on a
# GPU may use TF32 in convolutions (10-bit mantissa); float16 has 10 bits, bfloat16 7, over ~20 layers.
TOLERANCE = {torch.float32: 1e-2, torch.float16: 3e-2, torch.bfloat16: 6e-2}
FIXED_BATCH = 256  # the first test images


@dataclass(frozen=True)
class Agreement:
    """How far the device's numbers are from the CPU's, and whether within the tolerance."""
    dtype: str           # the device's compute precision: float32, float16 or bfloat16
    logits_error: float  # max |device − cpu| / max(1, max |cpu|)
    loss_error: float    # |device − cpu| / max(1, cpu)
    tolerance: float
    same_top1: float     # the share of images whose top class agrees (reported, not checked: ties may flip)

    @property
    def ok(self) -> bool:
        return self.logits_error <= self.tolerance and self.loss_error <= self.tolerance

    def text(self) -> str:
        return (f"{self.dtype}: logits within {self.logits_error:.1e}, loss within {self.loss_error:.1e} "
                f"(tolerance {self.tolerance:.0e}); top class agrees on {self.same_top1:.0%}")


def relative_error(value: torch.Tensor, reference: torch.Tensor) -> float:
    """max |value − reference| over max(1, max |reference|): an absolute error for small numbers, a
    relative one for large; infinite when either holds a NaN or an infinity."""
    value, reference = value.detach().double().cpu(), reference.detach().double().cpu()
    if value.shape != reference.shape:
        raise ValueError(f"shapes differ: {tuple(value.shape)} against {tuple(reference.shape)}")
    if not (torch.isfinite(value).all() and torch.isfinite(reference).all()):
        return float("inf")
    if value.numel() == 0:
        return 0.0
    return float((value - reference).abs().max() / max(1.0, float(reference.abs().max())))


def agree(logits: torch.Tensor, loss: torch.Tensor, ref_logits: torch.Tensor, ref_loss: torch.Tensor,
          dtype: torch.dtype = torch.float32) -> Agreement:
    """The device's logits and loss against the reference's, with the tolerance of `dtype`."""
    same = float((logits.detach().cpu().argmax(1) == ref_logits.detach().cpu().argmax(1)).float().mean()) \
        if len(logits) else 1.0
    return Agreement(str(dtype).removeprefix("torch."), relative_error(logits, ref_logits),
                     relative_error(loss.reshape(1), ref_loss.reshape(1)), TOLERANCE[dtype], same)


def compute_dtype(device: torch.device, amp: bool) -> torch.dtype:
    """What the engine computes in: nets.engine.device.amp_dtype under mixed precision on CUDA, else float32."""
    if amp and device.type == "cuda":
        from nets.engine.device import amp_dtype
        return amp_dtype()
    return torch.float32


def forward(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device, amp: bool,
            channels_last: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and cross-entropy of an eval-mode copy of `model` on `device`, as the engine evaluates:
    the memory format, and autocast to the engine's half precision when `amp` on CUDA."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net = copy.deepcopy(model).eval().to(device=device, memory_format=fmt)
    xb = x.to(device).contiguous(memory_format=fmt) if x.dim() == 4 else x.to(device)
    dtype = compute_dtype(device, amp)
    cast = torch.autocast("cuda", dtype=dtype) if dtype != torch.float32 else nullcontext()
    with torch.no_grad(), cast:
        logits = net(xb)
    logits = logits.float()
    return logits.cpu(), F.cross_entropy(logits, y.to(device)).cpu()


def against_cpu(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device, amp: bool,
                channels_last: bool) -> Agreement:
    """The fixed batch (`x` already normalised) on the device under the setting, against the CPU in float32."""
    ref_logits, ref_loss = forward(model, x, y, torch.device("cpu"), False, False)
    logits, loss = forward(model, x, y, device, amp, channels_last)
    return agree(logits, loss, ref_logits, ref_loss, compute_dtype(device, amp))


def fixed_batch(data, size: int = FIXED_BATCH) -> tuple[torch.Tensor, torch.Tensor]:
    """The first `size` test images as the model's input (nets.engine.data.to_input), and their labels."""
    from nets.engine.data import stats_tensors, to_input
    mean, std = stats_tensors(data.mean, data.std, "cpu")
    return to_input(data.x_test[:size], mean, std, data.scale), data.y_test[:size]

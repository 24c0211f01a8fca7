"""Which device to train on: CUDA, then Apple's MPS, then the CPU, unless the user says."""
from __future__ import annotations

import torch


def pick_device(preference: str = "auto") -> torch.device:
    if preference != "auto":
        dev = torch.device(preference)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("CUDA was asked for but no CUDA GPU is available; use device 'auto' or 'cpu'.")
        if dev.type == "mps" and not torch.backends.mps.is_available():
            raise RuntimeError("MPS was asked for but is not available on this machine.")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def device_name(device: torch.device | str | None = None) -> str:
    """A human name: the GPU's model, 'Apple GPU (MPS)' or 'CPU (n threads)'."""
    device = pick_device() if device is None else torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple GPU (MPS)"
    n = torch.get_num_threads()
    return f"CPU ({n} thread{'s' if n != 1 else ''})"


def amp_dtype() -> torch.dtype:
    """bfloat16 where the GPU has it (no loss scaling needed), else float16 with a GradScaler."""
    return torch.bfloat16 if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else torch.float16

"""ImageNet weights for ResNet-18/34 through torchvision's weights API.

Online, the weights download into torch's normal cache ($TORCH_HOME/hub/checkpoints). Offline, the
error names the missing file and the folder it goes in. A user can also bring a `.pth` state dict,
read with weights_only=True and checked key by key against the architecture.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from nets.files import CheckpointError, load_into, load_state_dict

ARCHES = ("resnet18", "resnet34")  # the ImageNet networks of the course: backbones and fine-tuning


class PretrainedError(RuntimeError):
    """Pretrained weights are missing or unusable; the message says what to do."""


def weights_enum(arch: str):
    from torchvision.models import get_model_weights
    if arch not in ARCHES:
        raise PretrainedError(f"No ImageNet weights for '{arch}'; choose from {', '.join(ARCHES)}.")
    return get_model_weights(arch).IMAGENET1K_V1


def imagenet_classes(arch: str = ARCHES[0]) -> list[str]:
    """The 1,000 ImageNet class names, from torchvision's weights metadata (no download)."""
    return list(weights_enum(arch).meta["categories"])


def weights_path(arch: str) -> Path:
    """Where torch's cache keeps the file (honours $TORCH_HOME)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(weights_enum(arch).url).name


def imagenet_normalisation(arch: str = ARCHES[0]) -> tuple[list[float], list[float]]:
    t = weights_enum(arch).transforms()
    return list(t.mean), list(t.std)


def have_weights(arch: str) -> bool:
    return weights_path(arch).exists()


def load_imagenet_state(arch: str, download: bool = True) -> dict:
    path = weights_path(arch)
    if not path.exists() and download:
        try:
            weights_enum(arch).get_state_dict(progress=False)  # torchvision's own download and hash check
        except Exception as e:
            raise PretrainedError(_missing(arch, path, e)) from e
    if not path.exists():
        raise PretrainedError(_missing(arch, path))
    try:
        return load_state_dict(path)
    except CheckpointError as e:
        raise PretrainedError(f"{e} Delete it so that it downloads again, or upload a state dict.") from e


def _missing(arch: str, path: Path, error: Exception | None = None) -> str:
    msg = (f"The ImageNet weights for {arch} are not on this machine and could not be downloaded. "
           f"Put {path.name} (from {weights_enum(arch).url}) in {path.parent}, set $TORCH_HOME to a "
           "folder that has it, or upload a .pth state dict.")
    return msg + (f" (download error: {str(error).splitlines()[-1][:200]})" if error else "")


def imagenet_resnet(arch: str, state: dict | None = None, download: bool = True) -> nn.Module:
    """torchvision's ResNet with 1,000 ImageNet classes and its pretrained (or the given) weights."""
    from torchvision import models
    net = getattr(models, arch)(weights=None)
    try:
        return load_into(net, state if state is not None else load_imagenet_state(arch, download),
                         f"The weights for {arch}")
    except CheckpointError as e:
        raise PretrainedError(str(e)) from e


def resnet_from_bytes(arch: str, data: bytes) -> nn.Module:
    """An ImageNet ResNet with an uploaded .pth state dict, read safely (weights only) and checked
    key by key; PretrainedError with a plain message when the file does not fit."""
    import tempfile
    with tempfile.NamedTemporaryFile(suffix=".pth") as f:
        f.write(data)
        f.flush()
        try:
            state = load_state_dict(f.name)
        except CheckpointError as e:
            raise PretrainedError(str(e).replace(f.name, "The uploaded file")) from e
    return imagenet_resnet(arch, state)


def install_state_dict(arch: str, data: bytes) -> Path:
    """Check an uploaded state dict against the architecture and put it where torch's cache looks,
    so training and the pages use it like downloaded weights."""
    from nets.files import atomic_write_bytes
    resnet_from_bytes(arch, data)
    path = weights_path(arch)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)
    return path

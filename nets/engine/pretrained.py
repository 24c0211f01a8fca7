"""ImageNet weights for ResNet-18/34 through torchvision's weights API.

Online, the weights download into torch's normal cache ($TORCH_HOME/hub/checkpoints). Offline, the
error names the missing file and the folder it goes in. A user can also bring a `.pth` state dict,
read with weights_only=True, checked key by key against the architecture and refused when a tensor
holds NaN or ±inf. Installing one for every job (install_state_dict) is the lecturer's action on a
server (anyone's on a laptop), and never replaces an installed file unless asked to.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from nets.files import CheckpointError, load_into, load_state_dict, non_finite

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
        state = load_state_dict(path)
    except CheckpointError as e:
        raise PretrainedError(f"{e} Delete it so that it downloads again, or upload a state dict.") from e
    check_finite(state, f"The installed ImageNet weights for {arch}")
    return state


def check_finite(state: dict, source: str = "The uploaded file") -> dict:
    """Refuse weights holding NaN or ±inf (every model built from them would predict nothing)."""
    if bad := non_finite(state):
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        raise PretrainedError(f"{source} holds NaN or infinite numbers (in {', '.join(bad[:3])}{more}); "
                              "such weights cannot be used.")
    return state


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
    return imagenet_resnet(arch, check_finite(state))


def may_install(who) -> bool:
    """Whether `who` (a nets.runs.access.Access: .everything is the lecturer, or laptop mode) may
    install weights that every job and page of this server then uses."""
    return bool(getattr(who, "everything", False))


def install_state_dict(arch: str, data: bytes, who, replace: bool = False) -> Path:
    """Check an uploaded state dict against the architecture (keys, shapes, finite numbers) and put
    it where torch's cache looks, so training and the pages use it like downloaded weights. Only
    for `who` that may_install; an installed file is replaced only with `replace=True`."""
    from nets.files import atomic_write_bytes
    if not may_install(who):
        raise PretrainedError("Only the lecturer can install ImageNet weights on this server; ask your lecturer.")
    resnet_from_bytes(arch, data)
    path = weights_path(arch)
    if path.exists() and not replace:
        raise PretrainedError(f"ImageNet weights for {arch} are installed already; replacing them needs an "
                              "explicit confirmation.")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)
    return path

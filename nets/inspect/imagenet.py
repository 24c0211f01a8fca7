"""ImageNet ResNets for the inspection pages: uploaded weights in eval mode, a fingerprint to cache by."""
from __future__ import annotations

import hashlib

from torch import nn

from nets.engine.pretrained import resnet_from_bytes


def imagenet_from_bytes(arch: str, data: bytes) -> nn.Module:
    """An ImageNet ResNet from uploaded .pth bytes, checked key by key and refused when a tensor holds
    NaN or ±inf (nets.engine.pretrained.resnet_from_bytes), in eval mode."""
    return resnet_from_bytes(arch, data).eval()


def digest(data: bytes) -> str:
    """A short fingerprint of uploaded bytes, to key caches by content."""
    return hashlib.sha256(data).hexdigest()[:32]

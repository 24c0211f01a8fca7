"""Frozen ResNet features: every image becomes the 512 numbers before the ImageNet head.

Images are resized and normalised as the weights expect, pushed through the network in batches on
the training device, and cached on disk (`.npz`, no pickle) under a key made of everything that
changes the result — the images themselves, the architecture, the weights file and the
preprocessing — so a second run is instant and a changed input is never served stale features.
"""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nets.engine.data import ImageData
from nets.engine.device import pick_device
from nets.engine.pretrained import ARCHES, imagenet_normalisation, imagenet_resnet, weights_path
from nets.files import atomic_write_bytes

FEATURE_DIM = 512
SPLITS = ("train", "val", "test")


def cache_key(data: ImageData, arch: str, input_size: int, weights: Path | None) -> str:
    h = hashlib.sha256()
    for part in (data.name, arch, str(input_size), *map(str, imagenet_normalisation(arch))):
        h.update(part.encode())
    for split in SPLITS:
        x = getattr(data, f"x_{split}")
        if x is not None:
            h.update(f"{split}{tuple(x.shape)}".encode())
            h.update(x.contiguous().numpy().tobytes())
            h.update(getattr(data, f"y_{split}").numpy().tobytes())
    if weights is not None and weights.exists():
        st = weights.stat()
        h.update(f"{weights.name}{st.st_size}{st.st_mtime_ns}".encode())
    return h.hexdigest()[:20]


def backbone(arch: str, state: dict | None = None) -> nn.Module:
    net = imagenet_resnet(arch, state)
    net.fc = nn.Identity()  # what is left is the 512-d average-pooled feature
    return net.eval()


@torch.no_grad()
def extract(net: nn.Module, x: torch.Tensor, arch: str, input_size: int, device, batch_size: int,
            on_batch=None) -> torch.Tensor:
    mean, std = (torch.tensor(v, device=device).view(1, 3, 1, 1) for v in imagenet_normalisation(arch))
    out = []
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size].to(device).float().div_(255)
        if xb.shape[1] == 1:
            xb = xb.expand(-1, 3, -1, -1)  # grey digits become grey colour images
        xb = F.interpolate(xb, size=(input_size, input_size), mode="bilinear", align_corners=False)
        out.append(net((xb - mean) / std).float().cpu())
        if on_batch:
            on_batch(len(xb))
    return torch.cat(out) if out else torch.empty(0, FEATURE_DIM)


def features_dataset(data: ImageData, arch: str, cache_dir: str | Path, *, input_size: int = 224,
                     device: str = "auto", batch_size: int = 256, on_progress=None,
                     state: dict | None = None) -> ImageData:
    """`data` with every image replaced by its frozen features (N×512×1×1, float, scale 1),
    standardised per feature with the training set's statistics. `on_progress(text, fraction)`."""
    weights = None if state is not None else weights_path(arch)
    key = cache_key(data, arch, input_size, weights) + ("-custom" if state is not None else "")
    path = Path(cache_dir) / f"{data.name}-{arch}-{input_size}-{key}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: torch.from_numpy(z[k]) for k in z.files}
    else:
        dev = pick_device(device)
        net = backbone(arch, state).to(dev)
        total = sum(len(getattr(data, f"x_{s}")) for s in SPLITS if getattr(data, f"x_{s}") is not None)
        done = [0]

        def on_batch(n):
            done[0] += n
            if on_progress:
                on_progress(f"Extracting frozen {arch} features: {done[0]:,} of {total:,} images",
                            done[0] / max(total, 1))

        arrays = {}
        for split in SPLITS:
            x = getattr(data, f"x_{split}")
            if x is not None:
                arrays[f"x_{split}"] = extract(net, x, arch, input_size, dev, batch_size, on_batch)
                arrays[f"y_{split}"] = getattr(data, f"y_{split}")
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.savez(buf, **{k: v.numpy() for k, v in arrays.items()})
        atomic_write_bytes(path, buf.getvalue())
    mean = arrays["x_train"].mean(0)
    std = arrays["x_train"].std(0).clamp_min(1e-6)
    as_maps = lambda k: arrays[k].view(-1, FEATURE_DIM, 1, 1) if k in arrays else None  # noqa: E731
    return ImageData(f"{data.name}+{arch}", data.classes, as_maps("x_train"), arrays["y_train"],
                     as_maps("x_test"), arrays["y_test"], as_maps("x_val"), arrays.get("y_val"),
                     mean.tolist(), std.tolist(), scale=1.0)


def main(argv=None) -> None:
    """`python -m nets features`: feature-extraction throughput (images/s) on this machine."""
    import argparse
    import time

    from torchvision import models

    from nets.engine.device import device_name
    p = argparse.ArgumentParser(prog="python -m nets features", description=main.__doc__)
    p.add_argument("--arch", default=ARCHES[-1], choices=ARCHES)
    p.add_argument("--images", type=int, default=512)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--input-size", type=int, default=224)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--device", default="auto")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = pick_device(args.device)
    # The arithmetic does not depend on the weights' values: random ones when ImageNet's are absent.
    real = weights_path(args.arch).exists()
    net = backbone(args.arch, None if real else getattr(models, args.arch)(weights=None).state_dict()).to(dev)
    x = torch.randint(0, 256, (args.images, 3, 32, 32), dtype=torch.uint8)
    extract(net, x[:args.batch_size], args.arch, args.input_size, dev, args.batch_size)  # warm-up
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    extract(net, x, args.arch, args.input_size, dev, args.batch_size)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    rate = args.images / (time.perf_counter() - t)
    print(f"{args.arch} features at {args.input_size}×{args.input_size}, batch {args.batch_size}, "
          f"{device_name(dev)}, {'ImageNet' if real else 'random'} weights: {rate:,.0f} images/s")

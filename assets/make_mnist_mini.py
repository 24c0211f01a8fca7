"""Build assets/mnist_mini.npz: a class-balanced real subset of MNIST (600 train and 100 test
images per digit), so the app has data on a machine with no network.

    python ../shared/datasets/make.py ~/realdata      # the real MNIST, once
    python assets/make_mnist_mini.py ~/realdata

Reads the idx files with torchvision (ROOT/MNIST/raw) and keeps the first images of each class
after a seeded shuffle. MNIST is by Yann LeCun and Corinna Cortes, licensed CC BY-SA 3.0
(see assets/MNIST_LICENSE.md).
"""
import sys
from pathlib import Path

import numpy as np
import torch
from torchvision.datasets import MNIST

PER_CLASS = {"train": 600, "test": 100}


def pick(y: torch.Tensor, per_class: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(y), generator=g)
    keep = torch.cat([order[y[order] == c][:per_class] for c in range(10)])
    return keep[torch.randperm(len(keep), generator=g)]  # classes interleaved, as in MNIST


def main(root: str) -> None:
    out = {}
    for split, train in (("train", True), ("test", False)):
        ds = MNIST(root, train=train, download=False)
        idx = pick(ds.targets, PER_CLASS[split], seed=0 if train else 1)
        out[f"x_{split}"] = ds.data[idx].numpy().astype(np.uint8)
        out[f"y_{split}"] = ds.targets[idx].numpy().astype(np.uint8)
    path = Path(__file__).resolve().parent / "mnist_mini.npz"
    np.savez_compressed(path, **out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB): "
          + ", ".join(f"{k} {v.shape}" for k, v in out.items()))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(Path.home() / "realdata"))

"""Build the bundled dataset subsets: class-balanced real images (600 train and 100 test per class),
so the app has data on a machine with no network.

    python ../shared/datasets/make.py ~/realdata        # the real datasets, once
    python assets/make_mini.py mnist ~/realdata           # -> assets/mnist_mini.npz
    python assets/make_mini.py fashion-mnist ~/realdata   # -> assets/fashion_mini.npz

Reads the idx files with torchvision (ROOT/MNIST/raw, ROOT/FashionMNIST/raw) and keeps the first
images of each class after a seeded shuffle. MNIST is by Yann LeCun, Corinna Cortes and Christopher
Burges, CC BY-SA 3.0 (assets/MNIST_LICENSE.md); Fashion-MNIST is by Zalando Research, MIT licence
(assets/FASHION_MNIST_LICENSE.md).
"""
import sys
from pathlib import Path

import numpy as np
import torch
from torchvision.datasets import MNIST, FashionMNIST

PER_CLASS = {"train": 600, "test": 100}
SOURCES = {"mnist": (MNIST, "mnist_mini.npz"), "fashion-mnist": (FashionMNIST, "fashion_mini.npz")}


def pick(y: torch.Tensor, per_class: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(y), generator=g)
    keep = torch.cat([order[y[order] == c][:per_class] for c in range(10)])
    return keep[torch.randperm(len(keep), generator=g)]  # classes interleaved, as in the originals


def main(name: str, root: str) -> None:
    cls, filename = SOURCES[name]
    out = {}
    for split, train in (("train", True), ("test", False)):
        ds = cls(root, train=train, download=False)
        idx = pick(ds.targets, PER_CLASS[split], seed=0 if train else 1)
        out[f"x_{split}"] = ds.data[idx].numpy().astype(np.uint8)
        out[f"y_{split}"] = ds.targets[idx].numpy().astype(np.uint8)
    path = Path(__file__).resolve().parent / filename
    np.savez_compressed(path, **out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB): "
          + ", ".join(f"{k} {v.shape}" for k, v in out.items()))


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in SOURCES:
        sys.exit(f"usage: python assets/make_mini.py {{{','.join(SOURCES)}}} [ROOT (default ~/realdata)]")
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else str(Path.home() / "realdata"))

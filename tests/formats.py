"""Writers for the real on-disk dataset formats, so tests exercise the real loading code."""
from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np


def write_idx(root: Path, folder: str, n_train: int = 60, n_test: int = 20, seed: int = 0) -> dict:
    """MNIST/Fashion-MNIST idx files (uncompressed), as torchvision keeps them in ROOT/<folder>/raw."""
    rng = np.random.default_rng(seed)
    raw = Path(root) / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        y = (np.arange(n) % 10).astype(np.uint8)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, n, 28, 28) + x.tobytes())
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, n) + y.tobytes())
        arrays[prefix] = (x, y)
    return arrays


def cifar_batch(n: int, seed: int, label: str = "training batch 1 of 5") -> dict:
    rng = np.random.default_rng(seed)
    return {"batch_label": label, "labels": [int(v) for v in np.arange(n) % 10],
            "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            "filenames": [f"img_{seed}_{i}.png" for i in range(n)]}


def write_cifar(root: Path, n: int = 20, meta: bool = True) -> Path:
    """CIFAR-10's python version: five training pickles, a test pickle and batches.meta."""
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, 6):
        with open(folder / f"data_batch_{i}", "wb") as f:
            pickle.dump(cifar_batch(n, i), f, protocol=2)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump(cifar_batch(n, 99, "testing batch 1 of 1"), f, protocol=2)
    if meta:
        names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
        with open(folder / "batches.meta", "wb") as f:
            pickle.dump({"num_cases_per_batch": n, "label_names": names, "num_vis": 3072}, f, protocol=2)
    return folder


class Payload:
    """Unpickling this runs `touch <path>`: a stand-in for a malicious file."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        import os
        return (os.system, (f"touch {self.path}",))

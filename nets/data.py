"""Datasets as tensors ready for fast training.

Every dataset comes back the same way: uint8 images N×C×H×W, int64 labels, class names and the
per-channel mean/std of the training images. The engine moves those tensors to the device once and
takes batches by index, which is what makes it several times faster than a PIL DataLoader.

Sources: torchvision's MNIST and Fashion-MNIST (its own loading code), CIFAR-10 read from the
python pickles with a restricted unpickler that checks structure instead of md5, the bundled
`mnist-mini` subset, and a folder of the user's own images (one sub-folder per class).
"""
from __future__ import annotations

import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

ASSETS = Path(__file__).resolve().parent.parent / "assets"
MNIST_MINI_FILE = ASSETS / "mnist_mini.npz"
DATA_DIR_ENV = "NNLAB_DATA_DIR"
DATASETS = ("mnist-mini", "mnist", "fashion-mnist", "cifar10", "folder")

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck"]
CIFAR_DIR = "cifar-10-batches-py"
CIFAR_TRAIN = [f"data_batch_{i}" for i in range(1, 6)]
CIFAR_TEST = ["test_batch"]
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


class DatasetError(RuntimeError):
    """A dataset is missing or malformed; the message says what and where."""


@dataclass
class ImageData:
    """A dataset split into train / (validation) / test tensors.

    x_*: uint8 N×C×H×W; y_*: int64 N. `mean`/`std` are per channel, in [0, 1] units, computed on
    the training images, so the model sees (x/255 - mean) / std.
    """
    name: str
    classes: list[str]
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    x_val: torch.Tensor | None = None
    y_val: torch.Tensor | None = None
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)
    scale: float = 255.0  # x / scale is in [0, 1] for pixels; 1.0 for float features

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def eval_split(self) -> tuple[str, torch.Tensor, torch.Tensor]:
        """The split used to pick the best model: validation when there is one, else test."""
        if self.x_val is not None and len(self.x_val):
            return "val", self.x_val, self.y_val
        return "test", self.x_test, self.y_test


def default_data_dir() -> Path:
    """$NNLAB_DATA_DIR, or data/ in the project folder."""
    return Path(os.environ.get(DATA_DIR_ENV) or ASSETS.parent / "data")


# ------------------------------------------------------------------------------------- loading
def load_dataset(name: str, data_dir: str | Path | None = None, *, download: bool = True,
                 image_size: int = 32, folder: str | Path | None = None,
                 test_fraction: float = 0.2, seed: int = 0) -> ImageData:
    """Load a whole dataset (train and test) as uint8 tensors, downloading when allowed."""
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    if name == "mnist-mini":
        x, y, xt, yt = _load_mnist_mini()
        classes = MNIST_CLASSES
    elif name in ("mnist", "fashion-mnist"):
        x, y, xt, yt = _load_idx(name, data_dir, download)
        classes = MNIST_CLASSES if name == "mnist" else FASHION_CLASSES
    elif name == "cifar10":
        x, y, xt, yt, classes = _load_cifar10(data_dir, download)
    elif name == "folder":
        if folder is None:
            raise DatasetError("The 'folder' dataset needs a folder of images (one sub-folder per class).")
        x, y, xt, yt, classes = load_image_folder(folder, image_size, test_fraction, seed)
    else:
        raise DatasetError(f"Unknown dataset '{name}'. Choose from: {', '.join(DATASETS)}.")
    mean, std = channel_stats(x)
    return ImageData(name, list(classes), x, y, xt, yt, mean=mean, std=std)


def channel_stats(x: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of uint8 images in [0, 1] units (float64 sums: exact enough)."""
    xf = x.to(torch.float64).div_(255).transpose(0, 1).reshape(x.shape[1], -1)
    return xf.mean(1).tolist(), xf.std(1).clamp_min(1e-6).tolist()


def dataset_status(data_dir: str | Path | None = None) -> dict[str, bool]:
    """Which datasets are on disk already (True) and which would download (False)."""
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    status = {"mnist-mini": MNIST_MINI_FILE.exists()}
    for name in ("mnist", "fashion-mnist"):
        status[name] = not _missing_idx_files(name, data_dir)
    status["cifar10"] = all((data_dir / CIFAR_DIR / f).exists() for f in CIFAR_TRAIN + CIFAR_TEST)
    return status


def _load_mnist_mini():
    if not MNIST_MINI_FILE.exists():
        raise DatasetError(f"The bundled MNIST subset is missing: {MNIST_MINI_FILE}. "
                           "Regenerate it with `python assets/make_mnist_mini.py`.")
    with np.load(MNIST_MINI_FILE, allow_pickle=False) as z:
        arrays = [torch.from_numpy(z[k].copy()) for k in ("x_train", "y_train", "x_test", "y_test")]
    x, y, xt, yt = arrays
    return x.unsqueeze(1), y.long(), xt.unsqueeze(1), yt.long()


# MNIST and Fashion-MNIST: torchvision's own classes read the idx files and do the download.
def _idx_class(name: str):
    from torchvision import datasets
    return datasets.MNIST if name == "mnist" else datasets.FashionMNIST


def _missing_idx_files(name: str, data_dir: Path) -> list[Path]:
    cls = _idx_class(name)
    raw = data_dir / cls.__name__ / "raw"
    return [raw / Path(f).stem for f, _ in cls.resources if not (raw / Path(f).stem).exists()]


def _load_idx(name: str, data_dir: Path, download: bool):
    cls = _idx_class(name)
    missing = _missing_idx_files(name, data_dir)
    if missing and download:
        try:
            cls(str(data_dir), train=True, download=True)
        except Exception as e:  # torchvision raises RuntimeError or URLError when offline
            raise DatasetError(_offline_message(name, missing, cls.mirrors[0], e)) from e
        missing = _missing_idx_files(name, data_dir)
    if missing:
        raise DatasetError(_offline_message(name, missing, cls.mirrors[0]))
    try:
        train, test = cls(str(data_dir), train=True), cls(str(data_dir), train=False)
        out = train.data, train.targets, test.data, test.targets
    except Exception as e:
        raise DatasetError(f"{name}: the files in {data_dir / cls.__name__ / 'raw'} are not valid "
                           f"idx files ({e}). Delete them to download again.") from e
    x, y, xt, yt = out
    if len(x) != len(y) or len(xt) != len(yt):
        raise DatasetError(f"{name}: image and label files disagree ({len(x)} images, {len(y)} labels).")
    return x.unsqueeze(1).contiguous(), y.long(), xt.unsqueeze(1).contiguous(), yt.long()


def _offline_message(name, missing, source, error=None) -> str:
    where = missing[0].parent
    files = ", ".join(p.name for p in missing)
    msg = (f"{name} is not on disk and could not be downloaded. Missing in {where}: {files}. "
           f"Download them (or the .gz files) from {source} and put them in that folder, "
           f"or point the data folder elsewhere with --data-dir or ${DATA_DIR_ENV}.")
    return msg + (f" (download error: {str(error).splitlines()[-1]})" if error else "")


# CIFAR-10: python pickles. Only numpy's array reconstruction may be called while unpickling, so a
# crafted file cannot run code; the structure is then checked instead of torchvision's md5.
class _ArrayOnlyUnpickler(pickle.Unpickler):
    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        if module == "_codecs":  # how Python 3's protocol 2 spells a bytes object
            import codecs
            return codecs.encode
        if name == "_reconstruct":
            return np.ndarray.__reduce__(np.zeros(0))[0]  # numpy's _reconstruct, whatever its module
        return getattr(np, name)


def read_cifar_pickle(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            obj = _ArrayOnlyUnpickler(f, encoding="latin1").load()
    except Exception as e:
        raise DatasetError(f"CIFAR-10 file {path} could not be read as a CIFAR-10 batch: {e}.") from e
    if not isinstance(obj, dict):
        raise DatasetError(f"CIFAR-10 file {path} holds a {type(obj).__name__}, expected a dict.")
    return {(k.decode() if isinstance(k, bytes) else k): v for k, v in obj.items()}


def read_cifar_batch(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    d = read_cifar_pickle(path)
    missing = [k for k in ("data", "labels") if k not in d]
    if missing:
        raise DatasetError(f"CIFAR-10 file {path} lacks the key(s) {missing}; it has {sorted(d)}.")
    data, labels = d["data"], np.asarray(d["labels"])
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        shape = getattr(data, "shape", None)
        raise DatasetError(f"CIFAR-10 file {path}: 'data' must be a uint8 array of shape N×3072, "
                           f"got {type(data).__name__} {getattr(data, 'dtype', '')} {shape}.")
    if labels.ndim != 1 or len(labels) != len(data):
        raise DatasetError(f"CIFAR-10 file {path}: {len(data)} images but {labels.size} labels.")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DatasetError(f"CIFAR-10 file {path}: labels must be 0–9, found {labels.min()}–{labels.max()}.")
    x = torch.from_numpy(data.reshape(-1, 3, 32, 32).copy())
    return x, torch.from_numpy(labels.astype(np.int64))


def _load_cifar10(data_dir: Path, download: bool):
    folder = data_dir / CIFAR_DIR
    missing = [f for f in CIFAR_TRAIN + CIFAR_TEST if not (folder / f).exists()]
    if missing and download:
        from torchvision.datasets import CIFAR10
        from torchvision.datasets.utils import download_and_extract_archive
        try:
            download_and_extract_archive(CIFAR10.url, str(data_dir), filename=CIFAR10.filename,
                                         md5=CIFAR10.tgz_md5)
        except Exception as e:
            raise DatasetError(_cifar_message(folder, missing, e)) from e
        missing = [f for f in CIFAR_TRAIN + CIFAR_TEST if not (folder / f).exists()]
    if missing:
        raise DatasetError(_cifar_message(folder, missing))
    train = [read_cifar_batch(folder / f) for f in CIFAR_TRAIN]
    xt, yt = read_cifar_batch(folder / CIFAR_TEST[0])
    classes = CIFAR10_CLASSES
    if (folder / "batches.meta").exists():
        names = read_cifar_pickle(folder / "batches.meta").get("label_names")
        if isinstance(names, list) and len(names) == 10 and all(isinstance(n, str) for n in names):
            classes = names
    x = torch.cat([b[0] for b in train])
    y = torch.cat([b[1] for b in train])
    return x, y, xt, yt, classes


def _cifar_message(folder, missing, error=None) -> str:
    from torchvision.datasets import CIFAR10
    msg = (f"cifar10 is not on disk and could not be downloaded. Missing in {folder}: "
           f"{', '.join(missing)}. Download {CIFAR10.url}, extract it so that {folder} holds "
           f"data_batch_1 … data_batch_5 and test_batch, or point the data folder elsewhere with "
           f"--data-dir or ${DATA_DIR_ENV}.")
    return msg + (f" (download error: {str(error).splitlines()[-1]})" if error else "")


# A folder of the user's own images: ROOT/<class>/*.png, or ROOT/train/<class> and ROOT/test/<class>.
def load_image_folder(root: str | Path, image_size: int = 32, test_fraction: float = 0.2,
                      seed: int = 0):
    from PIL import Image, UnidentifiedImageError
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"Image folder {root} does not exist.")
    split_dirs = (root / "train", root / "test")
    has_splits = all(d.is_dir() for d in split_dirs)
    class_root = split_dirs[0] if has_splits else root
    classes = sorted(d.name for d in class_root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if len(classes) < 2:
        raise DatasetError(f"{class_root} needs at least two sub-folders, one per class; found {classes}.")

    def read(folder: Path) -> tuple[list[np.ndarray], list[int]]:
        images, labels = [], []
        for label, cls in enumerate(classes):
            files = sorted(p for p in (folder / cls).glob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
            for p in files:
                try:
                    with Image.open(p) as im:
                        im = im.convert("RGB").resize((image_size, image_size), Image.BILINEAR)
                        images.append(np.asarray(im, dtype=np.uint8))
                except (UnidentifiedImageError, OSError, ValueError):
                    continue  # not an image after all; the count check below reports empty classes
                labels.append(label)
        counts = np.bincount(labels, minlength=len(classes)) if labels else np.zeros(len(classes), int)
        empty = [c for c, n in zip(classes, counts) if n == 0]
        if empty:
            raise DatasetError(f"No readable images for class(es) {empty} in {folder}.")
        return images, labels

    def to_tensors(images, labels):
        x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
        return x, torch.tensor(labels, dtype=torch.int64)

    if has_splits:
        x, y = to_tensors(*read(split_dirs[0]))
        xt, yt = to_tensors(*read(split_dirs[1]))
    else:
        xa, ya = to_tensors(*read(root))
        test_idx, train_idx = stratified_split(ya, test_fraction, seed)
        x, y, xt, yt = xa[train_idx], ya[train_idx], xa[test_idx], ya[test_idx]
    return x, y, xt, yt, classes


# ------------------------------------------------------------------------------------- splits
def stratified_split(y: torch.Tensor, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (taken, rest): `fraction` of every class taken, at least one per class when > 0."""
    g = torch.Generator().manual_seed(seed)
    taken, rest = [], []
    for c in torch.unique(y):
        idx = torch.nonzero(y == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        k = min(len(idx) - 1, max(1, round(fraction * len(idx)))) if fraction > 0 else 0
        taken.append(idx[:k])
        rest.append(idx[k:])
    return torch.cat(taken).sort().values, torch.cat(rest).sort().values


def balanced_subset(y: torch.Tensor, per_class: int = 0, fraction: float = 1.0,
                    seed: int = 0) -> torch.Tensor:
    """Indices of a class-balanced subset: `per_class` images of each class (0: all), or a
    `fraction` of each class."""
    g = torch.Generator().manual_seed(seed + 1)
    keep = []
    for c in torch.unique(y):
        idx = torch.nonzero(y == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        k = len(idx) if fraction >= 1 else max(1, round(fraction * len(idx)))
        if per_class > 0:
            k = min(k, per_class)
        keep.append(idx[:k])
    return torch.cat(keep).sort().values


def make_splits(data: ImageData, val_fraction: float = 0.0, train_per_class: int = 0,
                train_fraction: float = 1.0, seed: int = 0) -> ImageData:
    """Carve a validation set out of the training data, then optionally keep a class-balanced
    training subset. The test set is never touched; the same seed gives the same split."""
    if not 0 <= val_fraction < 1:
        raise DatasetError(f"Validation fraction must be in [0, 1), got {val_fraction}.")
    if not 0 < train_fraction <= 1:
        raise DatasetError(f"Training fraction must be in (0, 1], got {train_fraction}.")
    x, y = data.x_train, data.y_train
    x_val = y_val = None
    if val_fraction > 0:
        val_idx, train_idx = stratified_split(y, val_fraction, seed)
        x_val, y_val, x, y = x[val_idx], y[val_idx], x[train_idx], y[train_idx]
    if train_per_class > 0 or train_fraction < 1:
        keep = balanced_subset(y, train_per_class, train_fraction, seed)
        x, y = x[keep], y[keep]
    return ImageData(data.name, data.classes, x, y, data.x_test, data.y_test, x_val, y_val,
                     data.mean, data.std, data.scale)


def to_input(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, scale: float = 255.0) -> torch.Tensor:
    """uint8 images → the float input every model expects: (x/255 − mean) / std, per channel.

    mean and std are C×1×1 tensors on x's device; the work stays on the device. Float features
    (scale 1) take the same path."""
    return x.float().div_(scale).sub_(mean).div_(std)


def stats_tensors(mean, std, device) -> tuple[torch.Tensor, torch.Tensor]:
    as_t = lambda v: torch.tensor(v, dtype=torch.float32, device=device).view(-1, 1, 1)
    return as_t(mean), as_t(std)

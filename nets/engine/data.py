"""Datasets as tensors ready for fast training.

Every dataset comes back the same way: uint8 images N×C×H×W, int64 labels, class names and the
per-channel mean/std of the training images. The engine moves those tensors to the device once and
takes batches by index, which is what makes it several times faster than a PIL DataLoader.

Sources: the bundled subsets `mnist-mini` and `fashion-mnist-mini` (assets/*.npz, no network),
torchvision's MNIST and Fashion-MNIST (its own checksums, extraction and idx reading; the bytes come
through nets/engine/download.py so that a page can show progress), CIFAR-10 read from the python pickles
with a restricted unpickler that checks structure instead of md5, and a folder of the user's own
images (one sub-folder per class); what each dataset is (shape, classes, files) is in
nets.engine.catalog. A DatasetError's message is one or two sentences for the page;
its `details` hold the paths, addresses and raw errors.
"""
from __future__ import annotations

import math
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from nets.engine.catalog import (BUNDLED, CIFAR10_CLASSES, CIFAR_DIR, CIFAR_TEST, CIFAR_TRAIN, CLASSES, DATA_DIR_ENV,
                                 DATASETS, DOWNLOAD_BYTES, FOLDER, IMAGE_SUFFIXES, SHAPES, TITLES, FolderError,
                                 default_data_dir, folder_class_root, folder_classes, folder_inside, idx_class,
                                 missing_cifar_files, missing_idx_files, shown)
from nets.engine.download import DownloadFailed, reason
from nets.engine.imagefile import ImageRefused, ImageTooLarge, open_image


class DatasetError(RuntimeError):
    """A dataset is missing or malformed. str(e) is short, for the page; `details` holds what a
    person fixing it needs (paths, addresses, the raw error), for a folded "Details" section."""

    def __init__(self, message: str, details: str = ""):
        super().__init__(message)
        self.details = details


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
    # a modified training set (TrainConfig.data_mod, nets.engine.datamod): the true labels of the training
    # images when a flip step ran (y_train holds the labels the model is given), and a clean step's
    # nets.datalab.labelcheck.LabelCheck
    y_train_true: torch.Tensor | None = None
    label_check: object | None = None

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


# ------------------------------------------------------------------------------------- loading
def load_dataset(name: str, data_dir: str | Path | None = None, *, download: bool = True,
                 image_size: int = 32, folder: str | Path | None = None,
                 test_fraction: float = 0.2, seed: int = 0, on_progress=None) -> ImageData:
    """Load a whole dataset (train and test) as uint8 tensors, downloading when allowed. A folder
    dataset must be a folder inside `data_dir` (nets.engine.catalog.folder_inside; a relative one is
    read from there), whatever validated the config before: the worker checks it again here.

    `on_progress(text, fraction)` hears about a download (fraction in [0, 1]) and the reading after
    it (fraction 1.0 after a download, None when nothing was downloaded)."""
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    if name in BUNDLED:
        x, y, xt, yt = _load_bundled(name)
        classes = CLASSES[name]
    elif name in ("mnist", "fashion-mnist"):
        x, y, xt, yt = _load_idx(name, data_dir, download, on_progress)
        classes = CLASSES[name]
    elif name == "cifar10":
        x, y, xt, yt, classes = _load_cifar10(data_dir, download, on_progress)
    elif name == FOLDER:
        if folder is None:
            raise DatasetError("The 'folder' dataset needs a folder of images (one sub-folder per class).")
        try:
            root = folder_inside(data_dir, folder)
        except FolderError as e:
            raise DatasetError(str(e)) from None
        x, y, xt, yt, classes = load_image_folder(root, image_size, test_fraction, seed, data_root=data_dir)
    else:
        raise DatasetError(f"Unknown dataset '{name}'. Choose from: {', '.join(DATASETS)}.")
    mean, std = channel_stats(x)
    return ImageData(name, list(classes), x, y, xt, yt, mean=mean, std=std)


def channel_stats(x: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of uint8 images in [0, 1] units (float64 sums: exact enough)."""
    xf = x.to(torch.float64).div_(255).transpose(0, 1).reshape(x.shape[1], -1)
    return xf.mean(1).tolist(), xf.std(1).clamp_min(1e-6).tolist()


def _load_bundled(name: str):
    path, source = BUNDLED[name]
    if not path.exists():
        raise DatasetError(f"The bundled {TITLES[name]} file is missing from this installation.",
                           f"Expected {path}. Rebuild it with `python assets/make_mini.py {source} ROOT`, "
                           "ROOT holding the real dataset in torchvision's layout.")
    with np.load(path, allow_pickle=False) as z:
        arrays = [torch.from_numpy(z[k].copy()) for k in ("x_train", "y_train", "x_test", "y_test")]
    x, y, xt, yt = arrays
    return x.unsqueeze(1), y.long(), xt.unsqueeze(1), yt.long()


# ------------------------------------------------------------------------------------- downloads
def _unavailable(name: str, folder: Path, missing: list[str], sources: list[str], failures=()) -> DatasetError:
    """The short message and its details for a dataset that is not here (and could not be fetched)."""
    bundled = ", ".join(BUNDLED)
    if failures:
        head = f"{TITLES[name]} could not be downloaded: {reason(failures[-1][1])}."
    else:
        head = f"{TITLES[name]} is not on this machine."
    details = [f"Missing in {folder}: {', '.join(missing)}.",
               *[f"Tried {url}: {type(e).__name__}: {e}" for url, e in failures],
               f"The files come from: {', '.join(sources)}.",
               f"Another data folder can be chosen with --data-dir or ${DATA_DIR_ENV}."]
    return DatasetError(f"{head} Use a bundled dataset ({bundled}) or put the files in {folder}.",
                        "\n".join(details))


def _download_all(name: str, items, on_progress) -> None:
    """Fetch `items` (urls, path, md5) with the bar weighing the files by their published sizes."""
    from nets.engine.download import fetch_all
    sizes = DOWNLOAD_BYTES.get(name, ())
    fetch_all(items, list(sizes) if len(sizes) == len(items) else [1] * len(items), TITLES[name], on_progress)


def _load_idx(name: str, data_dir: Path, download: bool, on_progress=None):
    cls = idx_class(name)
    raw = data_dir / cls.__name__ / "raw"
    missing = missing_idx_files(name, data_dir)
    sources = [m + f for m in cls.mirrors[:1] for f, _ in cls.resources]
    read_fraction = None  # the bar stays full after a download, and has no measure otherwise
    if missing and download:
        from torchvision.datasets.utils import extract_archive
        todo = [f for f, _ in cls.resources if raw / Path(f).stem in missing]
        try:
            _download_all(name, [([m + f for m in cls.mirrors], raw / f, md5)
                                 for f, md5 in cls.resources if f in todo], on_progress)
        except DownloadFailed as e:
            raise _unavailable(name, raw, [p.name for p in missing], sources, e.failures) from e
        for f in todo:
            extract_archive(str(raw / f), str(raw))  # the .gz becomes the idx file torchvision reads
        missing, read_fraction = missing_idx_files(name, data_dir), 1.0
    if missing:
        raise _unavailable(name, raw, [p.name for p in missing], sources)
    if on_progress:
        on_progress(f"Reading {TITLES[name]}…", read_fraction)
    try:
        train, test = cls(str(data_dir), train=True), cls(str(data_dir), train=False)
        out = train.data, train.targets, test.data, test.targets
    except Exception as e:
        raise DatasetError(f"The {TITLES[name]} files on this machine are damaged. Delete them to "
                           f"download again.", f"Folder: {raw}. Error: {type(e).__name__}: {e}") from e
    x, y, xt, yt = out
    if len(x) != len(y) or len(xt) != len(yt):
        raise DatasetError(f"The {TITLES[name]} image and label files disagree ({len(x)} images, "
                           f"{len(y)} labels).", f"Folder: {raw}.")
    return x.unsqueeze(1).contiguous(), y.long(), xt.unsqueeze(1).contiguous(), yt.long()


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
    shape, top = SHAPES["cifar10"], len(CIFAR10_CLASSES) - 1  # 3×32×32 images, labels 0–9
    pixels = math.prod(shape)
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != pixels:
        raise DatasetError(f"CIFAR-10 file {path}: 'data' must be a uint8 array of shape N×{pixels}, "
                           f"got {type(data).__name__} {getattr(data, 'dtype', '')} {getattr(data, 'shape', None)}.")
    if labels.ndim != 1 or len(labels) != len(data):
        raise DatasetError(f"CIFAR-10 file {path}: {len(data)} images but {labels.size} labels.")
    if labels.size and (labels.min() < 0 or labels.max() > top):
        raise DatasetError(f"CIFAR-10 file {path}: labels must be 0–{top}, found {labels.min()}–{labels.max()}.")
    x = torch.from_numpy(data.reshape(-1, *shape).copy())
    return x, torch.from_numpy(labels.astype(np.int64))


def _load_cifar10(data_dir: Path, download: bool, on_progress=None):
    from torchvision.datasets import CIFAR10
    folder = data_dir / CIFAR_DIR
    missing, read_fraction = missing_cifar_files(folder), None
    if missing and download:
        from torchvision.datasets.utils import extract_archive
        archive = data_dir / CIFAR10.filename
        try:
            _download_all("cifar10", [([CIFAR10.url], archive, CIFAR10.tgz_md5)], on_progress)
        except DownloadFailed as e:
            raise _unavailable("cifar10", folder, missing, [CIFAR10.url], e.failures) from e
        if on_progress:
            on_progress("Unpacking CIFAR-10…", 1.0)
        try:
            extract_archive(str(archive), str(data_dir))
        except Exception as e:
            raise DatasetError("The CIFAR-10 download could not be unpacked. Delete it to download again.",
                               f"Archive: {archive}. Error: {type(e).__name__}: {e}") from e
        missing, read_fraction = missing_cifar_files(folder), 1.0
    if missing:
        raise _unavailable("cifar10", folder, missing, [CIFAR10.url])
    if on_progress:
        on_progress("Reading CIFAR-10…", read_fraction)
    train = [read_cifar_batch(folder / f) for f in CIFAR_TRAIN]
    xt, yt = read_cifar_batch(folder / CIFAR_TEST[0])
    classes = CIFAR10_CLASSES
    if (folder / "batches.meta").exists():
        names = read_cifar_pickle(folder / "batches.meta").get("label_names")
        if isinstance(names, list) and len(names) == len(CIFAR10_CLASSES) and all(isinstance(n, str) for n in names):
            classes = names
    x = torch.cat([b[0] for b in train])
    y = torch.cat([b[1] for b in train])
    return x, y, xt, yt, classes


# A folder of the user's own images: ROOT/<class>/*.png, or ROOT/train/<class> and ROOT/test/<class>.
def load_image_folder(root: str | Path, image_size: int = 32, test_fraction: float = 0.2,
                      seed: int = 0, *, data_root: str | Path | None = None):
    """The images of a class folder, resized to `image_size` squares. Messages name folders and
    files relative to `data_root` (never an absolute server path); each image's header is checked
    against the pixel limit (nets.engine.imagefile) before it is decoded."""
    from PIL import Image
    root = Path(root)
    base = Path(data_root) if data_root is not None else root.parent
    if not root.is_dir():
        raise DatasetError(f"Image folder {shown(base, root)} does not exist.")
    class_root, has_splits = folder_class_root(root)
    classes = folder_classes(root)
    if len(classes) < 2:
        raise DatasetError(f"{shown(base, class_root)} needs at least two sub-folders, one per class; "
                           f"found {classes}.")

    def read(folder: Path) -> tuple[list[np.ndarray], list[int]]:
        images, labels = [], []
        for label, cls in enumerate(classes):
            files = sorted(p for p in (folder / cls).glob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
            for p in files:
                try:
                    with open_image(p) as im:
                        im.draft("RGB", (image_size, image_size))  # a JPEG decodes at a fraction of its size
                        im = im.convert("RGB").resize((image_size, image_size), Image.BILINEAR)
                        images.append(np.asarray(im, dtype=np.uint8))
                except ImageTooLarge as e:
                    raise DatasetError(f"{shown(base, p)} is too large to read: {e}.") from None
                except (ImageRefused, OSError, ValueError, SyntaxError, EOFError):
                    continue  # not an image after all; the count check below reports empty classes
                labels.append(label)
        counts = np.bincount(labels, minlength=len(classes)) if labels else np.zeros(len(classes), int)
        empty = [c for c, n in zip(classes, counts) if n == 0]
        if empty:
            raise DatasetError(f"No readable images for class(es) {empty} in {shown(base, folder)}.")
        return images, labels

    def to_tensors(images, labels):
        x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
        return x, torch.tensor(labels, dtype=torch.int64)

    if has_splits:
        x, y = to_tensors(*read(root / "train"))
        xt, yt = to_tensors(*read(root / "test"))
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
    (scale 1) take the same path; the first step makes a new tensor, since x may be a slice of a
    cached float dataset that must not change."""
    return x.float().div(scale).sub_(mean).div_(std)


def stats_tensors(mean, std, device) -> tuple[torch.Tensor, torch.Tensor]:
    as_t = lambda v: torch.tensor(v, dtype=torch.float32, device=device).view(-1, 1, 1)
    return as_t(mean), as_t(std)

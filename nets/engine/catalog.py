"""The dataset catalogue: each dataset's name, title, image shape and classes, and whether it is on this machine."""
# Each fact stated once: forms, the command line and validation read these, nets.engine.data loads the
# images. Nothing here imports torch, so a menu can be drawn without it.
from __future__ import annotations

import os
from pathlib import Path

from nets import settings

ASSETS = Path(__file__).resolve().parent.parent.parent / "assets"
DATA_DIR_ENV = "NNLAB_DATA_DIR"
FOLDER = "folder"  # the user's own images, one sub-folder per class
FOLDER_SPLITS = ("train", "test")  # ...or ROOT/train/<class> and ROOT/test/<class>
DATASETS = ("mnist-mini", "fashion-mnist-mini", "mnist", "fashion-mnist", "cifar10", FOLDER)
TITLES = {"mnist-mini": "MNIST (bundled subset)", "fashion-mnist-mini": "Fashion-MNIST (bundled subset)",
          "mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "cifar10": "CIFAR-10", FOLDER: "Your image folder"}
# The bundled subsets: 600 training and 100 test images per class (assets/make_mini.py).
BUNDLED = {"mnist-mini": (ASSETS / "mnist_mini.npz", "mnist"),
           "fashion-mnist-mini": (ASSETS / "fashion_mini.npz", "fashion-mnist")}
# Bytes of the published files, in the order torchvision lists them (the notice and the progress bar).
DOWNLOAD_BYTES = {"mnist": (9_912_422, 28_881, 1_648_877, 4_542),
                  "fashion-mnist": (26_421_880, 29_515, 4_422_102, 5_148),
                  "cifar10": (170_498_071,)}
# Each named dataset's images, C×H×W; a folder's are 3×image_size×image_size (see input_shape).
SHAPES = {"mnist-mini": (1, 28, 28), "fashion-mnist-mini": (1, 28, 28), "mnist": (1, 28, 28),
          "fashion-mnist": (1, 28, 28), "cifar10": (3, 32, 32)}

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck"]
CLASSES = {"mnist-mini": MNIST_CLASSES, "fashion-mnist-mini": FASHION_CLASSES, "mnist": MNIST_CLASSES,
           "fashion-mnist": FASHION_CLASSES, "cifar10": CIFAR10_CLASSES}
# Handwriting has a direction: a mirrored 2 is no 2 (and a mirrored digit may read as another one),
# so horizontal flips are not suggested for these (nets.engine.augment.mirror_safe).
MIRROR_CHANGES_CLASS = frozenset({"mnist", "mnist-mini"})
CIFAR_DIR = "cifar-10-batches-py"
CIFAR_TRAIN = [f"data_batch_{i}" for i in range(1, 6)]
CIFAR_TEST = ["test_batch"]
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def default_data_dir() -> Path:
    """$NNLAB_DATA_DIR, or data/ in the project folder."""
    return Path(settings.get(DATA_DIR_ENV))


# ------------------------------------------------------------------------------------- the folder rule
class FolderError(ValueError):
    """A folder dataset outside the data root (or not a folder); the message names nothing outside."""


def folder_inside(data_root: str | Path | None, folder: str | Path) -> Path:
    """The one rule for a folder dataset: `folder` is read against the data root (a relative one is
    relative to the data root, never to a process's working directory), symlinks are resolved, and
    the result must be a directory strictly inside the data root. Returns the resolved folder;
    raises FolderError whose message echoes nothing that lies outside the data root."""
    base = Path(data_root if data_root is not None else default_data_dir()).resolve()
    text = str(folder).strip()
    if not text or "\x00" in text:
        raise FolderError("Choose a folder inside the data folder.")
    try:
        target = (base / text).resolve()  # an absolute `text` replaces base; resolve() follows links
    except (OSError, RuntimeError, ValueError):
        raise FolderError("That folder name cannot be used; choose a folder inside the data folder.") from None
    if target == base or not target.is_relative_to(base):
        raise FolderError("That folder is not inside the data folder; only folders in there can be used.")
    if not target.is_dir():
        raise FolderError(f"There is no folder {shown(base, target)} in the data folder.")
    return target


def shown(data_root: str | Path, path: str | Path) -> str:
    """`path` as a message may show it: relative to the data root, never an absolute server path."""
    base, path = Path(data_root).resolve(), Path(path)
    try:
        return path.resolve().relative_to(base).as_posix()
    except (ValueError, OSError, RuntimeError):
        return path.name or "?"


# ------------------------------------------------------------------------------------- shapes and classes
def input_shape(name: str, image_size: int = 32) -> tuple[int, int, int]:
    """C×H×W of `name`'s images; a folder's are resized to colour squares of `image_size`."""
    return SHAPES.get(name, (3, image_size, image_size))


def folder_class_root(root: str | Path) -> tuple[Path, bool]:
    """Where a folder dataset's class sub-folders are: ROOT/train when it has train/ and test/
    splits (the second value True), else ROOT itself."""
    root = Path(root)
    splits = tuple(root / s for s in FOLDER_SPLITS)
    has_splits = all(d.is_dir() for d in splits)
    return (splits[0] if has_splits else root), has_splits


def folder_class_dirs(root: str | Path, follow_symlinks: bool = True) -> list[Path]:
    """A folder dataset's class folders (hidden ones skipped), sorted by name; [] when it is not a
    folder. follow_symlinks=False skips linked ones (an upload must not reach out of the data root)."""
    class_root, _ = folder_class_root(root)
    try:
        return sorted((Path(e.path) for e in os.scandir(class_root)
                       if e.is_dir(follow_symlinks=follow_symlinks) and not e.name.startswith(".")),
                      key=lambda p: p.name)
    except OSError:
        return []


def folder_classes(root: str | Path) -> list[str]:
    """A folder dataset's class names: its sub-folders (hidden ones skipped), sorted; [] when it is
    not a folder."""
    return [d.name for d in folder_class_dirs(root)]


def class_names(name: str, folder: str | Path | None = None) -> list[str]:
    """`name`'s classes in label order; a folder's are its sub-folders ([] when none is chosen). A
    relative folder is read from the data root (default_data_dir()), never the working directory."""
    if name == FOLDER:
        return folder_classes(default_data_dir() / folder) if folder else []
    return list(CLASSES.get(name, []))


def num_classes(name: str, folder: str | Path | None = None) -> int:
    """How many classes `name` has; a folder its own count (0: no folder, or not one)."""
    return len(class_names(name, folder))


# ------------------------------------------------------------------------------------- on this machine?
def idx_class(name: str):
    """torchvision's class for MNIST or Fashion-MNIST: it knows the files, checksums and idx format."""
    from torchvision import datasets
    return datasets.MNIST if name == "mnist" else datasets.FashionMNIST


def missing_idx_files(name: str, data_dir: Path) -> list[Path]:
    cls = idx_class(name)
    raw = data_dir / cls.__name__ / "raw"
    return [raw / Path(f).stem for f, _ in cls.resources if not (raw / Path(f).stem).exists()]


def missing_cifar_files(folder: Path) -> list[str]:
    return [f for f in CIFAR_TRAIN + CIFAR_TEST if not (folder / f).exists()]


def dataset_status(data_dir: str | Path | None = None) -> dict[str, bool]:
    """Which datasets are on this machine (True) and which would download (False)."""
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    status = {name: path.exists() for name, (path, _) in BUNDLED.items()}
    for name in ("mnist", "fashion-mnist"):
        status[name] = not missing_idx_files(name, data_dir)
    status["cifar10"] = not missing_cifar_files(data_dir / CIFAR_DIR)
    return status


def download_mb(name: str) -> int:
    """About how many megabytes the first use of `name` downloads (0: nothing to download)."""
    return round(sum(DOWNLOAD_BYTES.get(name, ())) / 1e6)


def availability(name: str, data_dir: str | Path | None = None) -> str:
    """'bundled', 'on disk' or 'needs a download of about N MB', for tables and menus."""
    if name in BUNDLED:
        return "bundled"
    if name not in DOWNLOAD_BYTES:
        return "your images"
    if dataset_status(data_dir).get(name):
        return "on disk"
    return f"needs a download of about {download_mb(name)} MB"


def availability_rows(data_dir: str | Path | None = None) -> list[dict[str, str]]:
    """What this machine has ready: a {'dataset', 'status'} row per named dataset (not the user's folder)."""
    return [{"dataset": name, "status": availability(name, data_dir)} for name in DATASETS if name != FOLDER]


def menu_label(name: str, data_dir: str | Path | None = None) -> str:
    """A dataset as a menu shows it: 'cifar10 (170 MB download)', 'fashion-mnist-mini (bundled)'."""
    if name not in BUNDLED and name not in DOWNLOAD_BYTES:
        return name
    state = availability(name, data_dir)
    return f"{name} ({state if not state.startswith('needs') else f'{download_mb(name)} MB download'})"


def download_notice(name: str, data_dir: str | Path | None = None) -> str | None:
    """What a user should know before training on `name`: a sentence when the first run downloads,
    None when the data is bundled or on disk already (or is the user's own folder)."""
    if name not in DOWNLOAD_BYTES or dataset_status(data_dir).get(name):
        return None
    return f"{TITLES[name]} is not on this machine: the first run downloads about {download_mb(name)} MB."

import pickle

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.datasets import MNIST

from formats import Payload, cifar_batch, write_cifar, write_idx
from nets.engine.catalog import (BUNDLED, DATASETS, FASHION_CLASSES, SHAPES, availability, availability_rows,
                                 dataset_status, download_notice, menu_label)
from nets.engine.data import (DatasetError, balanced_subset, channel_stats, load_dataset, make_splits,
                              stratified_split)


@pytest.mark.parametrize("name,folder", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_idx_files_load_through_torchvision(tmp_path, name, folder):
    arrays = write_idx(tmp_path, folder)
    d = load_dataset(name, tmp_path, download=False)
    assert d.x_train.shape == (60, 1, 28, 28) and d.x_train.dtype == torch.uint8
    assert d.y_train.dtype == torch.int64 and d.x_test.shape == (20, 1, 28, 28)
    assert torch.equal(d.x_train[:, 0], torch.from_numpy(arrays["train"][0]))
    assert d.y_test.tolist() == arrays["t10k"][1].tolist()
    assert len(d.classes) == 10 and (d.classes[0] == "0") == (name == "mnist")
    assert d.mean[0] == pytest.approx(arrays["train"][0].mean() / 255, rel=1e-6)


def test_missing_idx_offline_says_what_and_where(tmp_path):
    with pytest.raises(DatasetError) as e:
        load_dataset("mnist", tmp_path, download=False)
    msg, details = str(e.value), e.value.details
    assert msg.startswith("MNIST is not on this machine.") and str(tmp_path / "MNIST" / "raw") in msg
    assert "mnist-mini, fashion-mnist-mini" in msg and "\n" not in msg
    assert "train-images-idx3-ubyte" in details and "--data-dir" in details and "ossci-datasets" in details


def test_download_failure_offline_is_short_with_details(tmp_path, monkeypatch):
    # A host that can never resolve, as on a machine with no network.
    monkeypatch.setattr(MNIST, "mirrors", ["http://nnlab-test.invalid/"])
    with pytest.raises(DatasetError) as e:
        load_dataset("mnist", tmp_path, download=True)
    msg = str(e.value)
    assert msg.startswith("MNIST could not be downloaded: this machine seems to be offline.")
    assert "urlopen" not in msg and "Errno" not in msg and len(msg) < 250
    assert "http://nnlab-test.invalid/train-images-idx3-ubyte.gz" in e.value.details
    assert "URLError" in e.value.details
    assert not list((tmp_path / "MNIST" / "raw").glob("*.part"))


def test_corrupt_idx_file(tmp_path):
    write_idx(tmp_path, "MNIST")
    (tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03garbage")
    with pytest.raises(DatasetError, match="damaged. Delete them") as e:
        load_dataset("mnist", tmp_path, download=False)
    assert str(tmp_path / "MNIST" / "raw") in e.value.details


def test_cifar_structure_checked_not_md5(tmp_path):
    write_cifar(tmp_path, n=20)
    d = load_dataset("cifar10", tmp_path, download=False)
    assert d.x_train.shape == (100, 3, 32, 32) and d.x_test.shape == (20, 3, 32, 32)
    assert d.classes[0] == "airplane" and len(d.mean) == 3
    raw = cifar_batch(20, 1)["data"]
    assert torch.equal(d.x_train[0].flatten(), torch.from_numpy(raw[0]))  # CHW order kept


@pytest.mark.parametrize("mutate,message", [
    (lambda b: b.pop("labels"), "lacks the key"),
    (lambda b: b.update(data=b["data"][:, :100]), "N×3072"),
    (lambda b: b.update(labels=[12] * 20), "labels must be 0–9"),
    (lambda b: b.update(labels=[1] * 19), "20 images but 19 labels"),
])
def test_malformed_cifar_batch(tmp_path, mutate, message):
    folder = write_cifar(tmp_path)
    batch = cifar_batch(20, 3)
    mutate(batch)
    with open(folder / "data_batch_3", "wb") as f:
        pickle.dump(batch, f, protocol=2)
    with pytest.raises(DatasetError, match=message) as e:
        load_dataset("cifar10", tmp_path, download=False)
    assert "data_batch_3" in str(e.value)


def test_cifar_pickle_with_code_is_refused(tmp_path):
    folder = write_cifar(tmp_path)
    marker = tmp_path / "pwned"
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({"data": Payload(marker), "labels": []}, f, protocol=2)
    with pytest.raises(DatasetError, match="refusing"):
        load_dataset("cifar10", tmp_path, download=False)
    assert not marker.exists()


def test_cifar_missing_files_named(tmp_path):
    folder = write_cifar(tmp_path)
    (folder / "data_batch_5").unlink()
    with pytest.raises(DatasetError, match="CIFAR-10 is not on this machine") as e:
        load_dataset("cifar10", tmp_path, download=False)
    assert "data_batch_5" in e.value.details and "data_batch_4" not in e.value.details
    status = dataset_status(tmp_path)
    assert status["cifar10"] is False and status["mnist-mini"] is True
    assert status["fashion-mnist-mini"] is True


@pytest.mark.parametrize("name,mean", [("mnist-mini", (0.1, 0.15)), ("fashion-mnist-mini", (0.26, 0.31))])
def test_bundled_subsets_are_balanced_real_images(name, mean):
    d = load_dataset(name, download=False)
    assert d.x_train.shape == (6000, 1, 28, 28) and d.x_test.shape == (1000, 1, 28, 28)
    assert d.x_train.shape[1:] == SHAPES[name]
    assert torch.bincount(d.y_train).tolist() == [600] * 10
    assert torch.bincount(d.y_test).tolist() == [100] * 10
    assert mean[0] < d.mean[0] < mean[1]  # MNIST: mostly black background; Fashion-MNIST: more ink
    assert (d.classes == FASHION_CLASSES) == name.startswith("fashion")
    assert BUNDLED[name][0].stat().st_size < 3.5e6  # small enough to ship


def test_every_dataset_has_a_shape_and_the_status_says_how_it_arrives(tmp_path):
    assert set(SHAPES) | {"folder"} == set(DATASETS)
    assert [availability(d, tmp_path) for d in DATASETS] == [
        "bundled", "bundled", "needs a download of about 12 MB", "needs a download of about 31 MB",
        "needs a download of about 170 MB", "your images"]
    write_idx(tmp_path, "FashionMNIST")
    assert availability("fashion-mnist", tmp_path) == "on disk"
    assert availability_rows(tmp_path) == [{"dataset": d, "status": availability(d, tmp_path)}
                                           for d in DATASETS if d != "folder"]  # Home's table
    assert [menu_label(d, tmp_path) for d in DATASETS] == [
        "mnist-mini (bundled)", "fashion-mnist-mini (bundled)", "mnist (12 MB download)", "fashion-mnist (on disk)",
        "cifar10 (170 MB download)", "folder"]


def test_download_notice_only_when_the_first_run_downloads(tmp_path):
    assert download_notice("cifar10", tmp_path) == \
        "CIFAR-10 is not on this machine: the first run downloads about 170 MB."
    assert download_notice("mnist", tmp_path).startswith("MNIST is not on this machine")
    for name in ("mnist-mini", "fashion-mnist-mini", "folder", "nonsense"):
        assert download_notice(name, tmp_path) is None
    write_cifar(tmp_path)
    assert download_notice("cifar10", tmp_path) is None


def test_a_missing_bundled_file_is_explained(monkeypatch, tmp_path):
    monkeypatch.setitem(BUNDLED, "fashion-mnist-mini", (tmp_path / "gone.npz", "fashion-mnist"))
    with pytest.raises(DatasetError, match="bundled Fashion-MNIST") as e:
        load_dataset("fashion-mnist-mini")
    assert "make_mini.py fashion-mnist" in e.value.details


def _write_images(folder, counts, size=(20, 14), mode="RGB"):
    for cls, n in counts.items():
        (folder / cls).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            color = (i * 20 % 255, 100, 200) if mode == "RGB" else i * 20 % 255
            Image.new(mode, size, color).save(folder / cls / f"{mode}{i}.{'png' if i % 2 else 'jpg'}")


def test_image_folder(tmp_path):
    _write_images(tmp_path / "pets", {"cats": 10, "dogs": 5})
    _write_images(tmp_path / "pets", {"dogs": 5}, mode="L")  # grayscale files are converted to RGB
    (tmp_path / "pets" / "cats" / "notes.png").write_bytes(b"not an image")  # skipped, not fatal
    d = load_dataset("folder", tmp_path, folder="pets", image_size=16, test_fraction=0.2)
    assert d.classes == ["cats", "dogs"]
    assert d.x_train.shape[1:] == (3, 16, 16)
    assert len(d.x_train) + len(d.x_test) == 20
    assert torch.bincount(d.y_test).tolist() == [2, 2]


def test_image_folder_with_train_test(tmp_path):
    _write_images(tmp_path / "ab" / "train", {"a": 4, "b": 4})
    _write_images(tmp_path / "ab" / "test", {"a": 2, "b": 1})
    d = load_dataset("folder", tmp_path, folder=tmp_path / "ab", image_size=8)
    assert len(d.x_train) == 8 and len(d.x_test) == 3


def test_image_folder_errors(tmp_path):
    with pytest.raises(DatasetError, match="no folder nope"):
        load_dataset("folder", tmp_path, folder="nope")
    _write_images(tmp_path / "set", {"only": 3})
    with pytest.raises(DatasetError, match="at least two"):
        load_dataset("folder", tmp_path, folder="set")
    (tmp_path / "set" / "empty").mkdir()
    with pytest.raises(DatasetError, match="No readable images.*empty.* in set") as e:
        load_dataset("folder", tmp_path, folder="set")
    assert str(tmp_path) not in str(e.value)  # names relative to the data root, never server paths


def test_stratified_split_is_reproducible_and_disjoint():
    y = torch.arange(100) % 10
    a, rest = stratified_split(y, 0.2, seed=3)
    b, _ = stratified_split(y, 0.2, seed=3)
    c, _ = stratified_split(y, 0.2, seed=4)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.bincount(y[a]).tolist() == [2] * 10
    assert len(set(a.tolist()) & set(rest.tolist())) == 0 and len(a) + len(rest) == 100


def test_make_splits_val_and_balanced_subset():
    d = load_dataset("mnist-mini")
    s = make_splits(d, val_fraction=0.1, train_per_class=30, seed=0)
    assert len(s.x_val) == 600 and torch.bincount(s.y_val).tolist() == [60] * 10
    assert torch.bincount(s.y_train).tolist() == [30] * 10
    assert torch.equal(s.x_test, d.x_test)
    assert s.eval_split()[0] == "val" and d.eval_split()[0] == "test"
    half = make_splits(d, train_fraction=0.5)
    assert torch.bincount(half.y_train).tolist() == [300] * 10
    with pytest.raises(DatasetError):
        make_splits(d, val_fraction=1.0)


def test_balanced_subset_caps_per_class():
    y = torch.tensor([0] * 50 + [1] * 5)
    keep = balanced_subset(y, per_class=10)
    assert torch.bincount(y[keep]).tolist() == [10, 5]


def test_channel_stats_match_numpy():
    x = torch.randint(0, 256, (8, 3, 5, 5), dtype=torch.uint8)
    mean, std = channel_stats(x)
    ref = x.numpy().astype(np.float64) / 255
    assert mean == pytest.approx(ref.mean(axis=(0, 2, 3)).tolist())
    assert std == pytest.approx(ref.transpose(1, 0, 2, 3).reshape(3, -1).std(axis=1, ddof=1).tolist())


def test_unknown_dataset():
    with pytest.raises(DatasetError, match="Choose from"):
        load_dataset("imagenet")


def test_the_catalog_knows_each_datasets_shape_and_classes(tmp_path):
    from nets.engine.catalog import class_names, input_shape, num_classes
    for name in BUNDLED:  # what the catalog says is what loading gives
        d = load_dataset(name, download=False)
        assert (input_shape(name), class_names(name), num_classes(name)) == (d.input_shape, d.classes, d.num_classes)
    assert input_shape("folder", 48) == (3, 48, 48) and num_classes("folder") == 0  # no folder chosen yet
    _write_images(tmp_path / "three", {"a": 1, "b": 1, "c": 1})
    (tmp_path / "three" / ".hidden").mkdir()
    assert num_classes("folder", tmp_path / "three") == 3
    _write_images(tmp_path / "split" / "train", {"x": 2, "y": 2})
    _write_images(tmp_path / "split" / "test", {"x": 1, "y": 1})
    assert class_names("folder", tmp_path / "split") == load_dataset("folder", tmp_path, folder="split").classes


def test_pages_state_no_dataset_shapes_or_class_counts():
    """Shapes and class counts live in nets.engine.catalog; the forms read them from there."""
    import re
    from pathlib import Path
    pages = Path(__file__).resolve().parent.parent / "pages"
    for page in ("train.py", "anatomy.py", "transfer.py"):
        text = (pages / page).read_text()
        assert not re.search(r"\(\s*[13],\s*(28|32),\s*(28|32)\s*\)|[13]×(28|32)×(28|32)|\b10 classes|, 10\)", text), page

import pickle

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.datasets import MNIST

from formats import Payload, cifar_batch, write_cifar, write_idx
from nets.data import (DatasetError, balanced_subset, channel_stats, dataset_status, load_dataset,
                       make_splits, stratified_split)


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
    msg = str(e.value)
    assert "train-images-idx3-ubyte" in msg and str(tmp_path / "MNIST" / "raw") in msg
    assert "--data-dir" in msg


def test_download_failure_is_explained(tmp_path, monkeypatch):
    # The real torchvision download code, pointed at a host that can never resolve.
    monkeypatch.setattr(MNIST, "mirrors", ["http://nnlab-test.invalid/"])
    with pytest.raises(DatasetError) as e:
        load_dataset("mnist", tmp_path, download=True)
    assert "could not be downloaded" in str(e.value) and "download error" in str(e.value)


def test_corrupt_idx_file(tmp_path):
    write_idx(tmp_path, "MNIST")
    (tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03garbage")
    with pytest.raises(DatasetError, match="not valid idx files"):
        load_dataset("mnist", tmp_path, download=False)


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
    with pytest.raises(DatasetError, match="data_batch_5"):
        load_dataset("cifar10", tmp_path, download=False)
    status = dataset_status(tmp_path)
    assert status["cifar10"] is False and status["mnist-mini"] is True


def test_mnist_mini_is_bundled_and_balanced():
    d = load_dataset("mnist-mini")
    assert d.x_train.shape == (6000, 1, 28, 28) and d.x_test.shape == (1000, 1, 28, 28)
    assert torch.bincount(d.y_train).tolist() == [600] * 10
    assert torch.bincount(d.y_test).tolist() == [100] * 10
    assert 0.1 < d.mean[0] < 0.15  # real MNIST digits: mostly black background


def _write_images(folder, counts, size=(20, 14), mode="RGB"):
    for cls, n in counts.items():
        (folder / cls).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            color = (i * 20 % 255, 100, 200) if mode == "RGB" else i * 20 % 255
            Image.new(mode, size, color).save(folder / cls / f"{mode}{i}.{'png' if i % 2 else 'jpg'}")


def test_image_folder(tmp_path):
    _write_images(tmp_path, {"cats": 10, "dogs": 5})
    _write_images(tmp_path, {"dogs": 5}, mode="L")  # grayscale files are converted to RGB
    (tmp_path / "cats" / "notes.png").write_bytes(b"not an image")  # skipped, not fatal
    d = load_dataset("folder", folder=tmp_path, image_size=16, test_fraction=0.2)
    assert d.classes == ["cats", "dogs"]
    assert d.x_train.shape[1:] == (3, 16, 16)
    assert len(d.x_train) + len(d.x_test) == 20
    assert torch.bincount(d.y_test).tolist() == [2, 2]


def test_image_folder_with_train_test(tmp_path):
    _write_images(tmp_path / "train", {"a": 4, "b": 4})
    _write_images(tmp_path / "test", {"a": 2, "b": 1})
    d = load_dataset("folder", folder=tmp_path, image_size=8)
    assert len(d.x_train) == 8 and len(d.x_test) == 3


def test_image_folder_errors(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset("folder", folder=tmp_path / "nope")
    _write_images(tmp_path, {"only": 3})
    with pytest.raises(DatasetError, match="at least two"):
        load_dataset("folder", folder=tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="No readable images.*empty"):
        load_dataset("folder", folder=tmp_path)


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

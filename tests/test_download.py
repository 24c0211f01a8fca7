"""Downloads for real, from a web server on 127.0.0.1 serving small files in the published formats
(gzipped idx files, a CIFAR-10 tar.gz): the bytes, the checksums, the extraction, the progress
reports, and the short messages when it fails."""
import gzip
import hashlib
import socket
import tarfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch
from torchvision.datasets import CIFAR10, MNIST, FashionMNIST

from formats import write_cifar, write_idx
from nets.engine import download
from nets.engine.config import TrainConfig
from nets.engine.data import DatasetError, load_dataset
from nets.server.job import Job
from nets.server.jobs import JobManager


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """(url, folder): whatever is put in folder is served at url/<name>."""
    folder = tmp_path / "served"
    folder.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", folder
    httpd.shutdown()
    httpd.server_close()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/"  # nothing listens once the socket closes


def md5(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def serve_idx(folder, cls, n_train=60) -> tuple[dict, list]:
    """The four idx files gzipped, as the mirrors publish them; returns the arrays and resources."""
    arrays = write_idx(folder / "staging", cls.__name__, n_train=n_train)
    resources = []
    for split, kind in (("train", "images-idx3"), ("train", "labels-idx1"), ("t10k", "images-idx3"),
                        ("t10k", "labels-idx1")):  # torchvision's order
        raw = folder / "staging" / cls.__name__ / "raw" / f"{split}-{kind}-ubyte"
        gz = folder / (raw.name + ".gz")
        gz.write_bytes(gzip.compress(raw.read_bytes()))
        resources.append((gz.name, md5(gz)))
    return arrays, resources


def serve_cifar(folder, tmp_path, n=20) -> str:
    staging = tmp_path / "cifar-staging"
    write_cifar(staging, n=n)
    archive = folder / CIFAR10.filename
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(staging / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    return md5(archive)


@pytest.mark.parametrize("cls,name", [(MNIST, "mnist"), (FashionMNIST, "fashion-mnist")])
def test_idx_download_with_progress_and_a_dead_mirror_first(server, tmp_path, monkeypatch, cls, name):
    url, folder = server
    arrays, resources = serve_idx(folder, cls, n_train=600)
    monkeypatch.setattr(cls, "mirrors", [closed_port_url(), url + "/"])
    monkeypatch.setattr(cls, "resources", resources)
    monkeypatch.setattr(download, "CHUNK", 4096)  # several progress reports even for small files
    events = []
    d = load_dataset(name, tmp_path / "data", on_progress=lambda text, f: events.append((text, f)))
    assert d.x_train.shape == (600, 1, 28, 28) and d.x_test.shape == (20, 1, 28, 28)
    assert torch.equal(d.x_train[:, 0], torch.from_numpy(arrays["train"][0]))
    assert d.y_test.tolist() == arrays["t10k"][1].tolist()
    fractions = [f for text, f in events if text.startswith("Downloading")]
    assert len(fractions) > 4 and fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert 0 < fractions[0] < 0.5
    assert "(file 1 of 4)" in events[0][0] and "(file 4 of 4)" in events[-2][0]
    assert events[-1] == (f"Reading {'MNIST' if name == 'mnist' else 'Fashion-MNIST'}…", 1.0)
    raw = tmp_path / "data" / cls.__name__ / "raw"
    assert not list(raw.glob("*.part"))
    # a second load finds the files: no download, nothing to report but the reading
    events.clear()
    load_dataset(name, tmp_path / "data", on_progress=lambda text, f: events.append((text, f)))
    assert [f for _, f in events] == [None]


def test_cifar_download_unpacks_and_reports(server, tmp_path, monkeypatch):
    url, folder = server
    monkeypatch.setattr(CIFAR10, "url", f"{url}/{CIFAR10.filename}")
    monkeypatch.setattr(CIFAR10, "tgz_md5", serve_cifar(folder, tmp_path))
    monkeypatch.setattr(download, "CHUNK", 4096)
    events = []
    d = load_dataset("cifar10", tmp_path / "data", on_progress=lambda text, f: events.append((text, f)))
    assert d.x_train.shape == (100, 3, 32, 32) and d.x_test.shape == (20, 3, 32, 32)
    assert d.classes[0] == "airplane"
    texts = [t for t, _ in events]
    assert texts[0].startswith("Downloading CIFAR-10: 0.0 of 0.") and "file" not in texts[0]
    assert texts[-2:] == ["Unpacking CIFAR-10…", "Reading CIFAR-10…"]
    fractions = [f for t, f in events if t.startswith("Downloading")]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_unreachable_server_gives_the_short_message(tmp_path, monkeypatch):
    dead = closed_port_url() + CIFAR10.filename
    monkeypatch.setattr(CIFAR10, "url", dead)
    with pytest.raises(DatasetError) as e:
        load_dataset("cifar10", tmp_path)
    msg = str(e.value)
    assert msg == ("CIFAR-10 could not be downloaded: the download server did not answer. Use a bundled dataset "
                   f"(mnist-mini, fashion-mnist-mini) or put the files in {tmp_path / 'cifar-10-batches-py'}.")
    assert dead in e.value.details and "data_batch_1" in e.value.details
    assert not (tmp_path / (CIFAR10.filename + ".part")).exists()


def test_wrong_checksum_and_missing_file_are_named(server, tmp_path, monkeypatch):
    url, folder = server
    serve_cifar(folder, tmp_path)
    monkeypatch.setattr(CIFAR10, "url", f"{url}/{CIFAR10.filename}")
    monkeypatch.setattr(CIFAR10, "tgz_md5", "0" * 32)
    with pytest.raises(DatasetError, match="did not match its published checksum"):
        load_dataset("cifar10", tmp_path / "data")
    assert not (tmp_path / "data" / CIFAR10.filename).exists()  # a bad file is not kept
    monkeypatch.setattr(CIFAR10, "url", f"{url}/nothing-here.tar.gz")
    with pytest.raises(DatasetError, match="the server answered 404"):
        load_dataset("cifar10", tmp_path / "data")


def test_a_job_reports_the_download_as_its_phase(server, tmp_path, monkeypatch):
    url, folder = server
    _, resources = serve_idx(folder, MNIST, n_train=300)
    monkeypatch.setattr(MNIST, "mirrors", [url + "/"])
    monkeypatch.setattr(MNIST, "resources", resources)
    monkeypatch.setattr(download, "CHUNK", 4096)
    seen = []
    original = Job.apply

    def recording(self, message):
        if message.get("type") == "phase":
            seen.append((message["text"], message.get("fraction")))
        original(self, message)

    monkeypatch.setattr(Job, "apply", recording)
    manager = JobManager(tmp_path / "ck", tmp_path / "data")
    cfg = TrainConfig(dataset="mnist", model="mlp", hidden=(8,), epochs=1, batch_size=64, device="cpu")
    v = manager.wait(manager.submit(cfg).id, timeout=120)
    assert v.status == "completed" and v.phase is None and v.phase_fraction is None
    downloading = [f for text, f in seen if text and text.startswith("Downloading MNIST")]
    assert downloading and downloading == sorted(downloading) and downloading[-1] == pytest.approx(1.0)
    assert ("Reading MNIST…", 1.0) in seen and seen[-1] == (None, None)


def test_a_failed_download_fails_the_job_with_the_short_message(tmp_path, monkeypatch):
    monkeypatch.setattr(CIFAR10, "url", closed_port_url() + CIFAR10.filename)
    manager = JobManager(tmp_path / "ck", tmp_path / "data")
    v = manager.wait(manager.submit(TrainConfig(dataset="cifar10", model="mlp", epochs=1)).id, timeout=60)
    assert v.status == "failed" and v.error.startswith("CIFAR-10 could not be downloaded")
    assert "\n" not in v.error and "Errno" not in v.error

"""The NumPy network: gradients against autograd and finite differences, a hand-worked SGD step,
saving, data splits, training, the PyTorch twin, the lab's runs as jobs of the job service (both
backends) and the command-line runs."""
import io
import struct
import threading
import time
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nets.engine.config import TrainConfig
from nets.engine.data import load_dataset
from nets.server.jobs import JobManager
from nets.scratch.network import (HIDDEN_ACTIVATIONS, Network, ScratchData, ScratchError, cross_entropy, epoch_order, fit,
                                  init_std, load_scratch_data, log_softmax, sigmoid, softmax, split_80_10_10)
from nets.scratch.cli import accuracy_main, speed_main, time_epochs
from nets.parse import ParseError
from nets.scratch.threads import numpy_blas_threads
from nets.scratch.lab import SCALE_LABELS, LabSettings, LabWork, describe_layers, parse_hidden
from nets.scratch.report import (LESSONS, NUMPY, TORCH, collapse_linear, evidence_text, identical_units,
                                 lesson_sections, lessons_before_training, progress, results_table, twin_gap)
from nets.scratch.twin import as_tensors, torch_threads, torch_twin, twin_evaluate, twin_sgd_epoch
from nets.server.worker import run_job
from nets.work import DataCache
from pagetools import until

ACTS = list(HIDDEN_ACTIVATIONS)


def rel_error(a, b) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300))


def small_problem(activation, seed=0):
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(8, 5)), rng.integers(0, 3, 8)
    return Network((5, 4, 6, 3), activation, scale=1.0, seed=seed, dtype=np.float64), X, y


@pytest.fixture(scope="module")
def mini() -> ScratchData:
    """The bundled MNIST subset, 700 images per split at most: enough to learn, quick to train."""
    d = load_scratch_data("mnist-mini")
    return ScratchData(d.x_train[:2000], d.y_train[:2000], d.x_val[:300], d.y_val[:300], d.x_test[:300],
                       d.y_test[:300], d.classes)


# ------------------------------------------------------------------ correctness
@pytest.mark.parametrize("activation", ACTS)
def test_gradients_match_torch_autograd_in_float64(activation):
    net, X, y = small_problem(activation)
    loss, dW, db = net.gradients(X, y)
    model = torch_twin(net)
    xt, yt = as_tensors(X, y, model)
    ref_loss = F.cross_entropy(model(xt), yt)
    ref = torch.autograd.grad(ref_loss, list(model.parameters()))
    ours = [g for pair in zip(dW, db) for g in pair]
    assert abs(loss - ref_loss.item()) < 1e-12
    assert max(rel_error(o, r.numpy()) for o, r in zip(ours, ref)) < 1e-6


@pytest.mark.parametrize("activation", ACTS)
def test_gradients_match_finite_differences(activation):
    net, X, y = small_problem(activation, seed=1)
    _, dW, db = net.gradients(X, y)
    eps, worst = 1e-6, 0.0
    for params, grads in ((net.W, dW), (net.b, db)):
        for P, G in zip(params, grads):
            numeric = np.zeros_like(P)
            for i in np.ndindex(P.shape):
                old = P[i]
                P[i] = old + eps
                up = cross_entropy(net.forward(X)[0][-1], y)
                P[i] = old - eps
                down = cross_entropy(net.forward(X)[0][-1], y)
                P[i] = old
                numeric[i] = (up - down) / (2 * eps)
            worst = max(worst, rel_error(G, numeric))
    assert worst < 1e-6


def test_one_sgd_step_matches_the_hand_worked_example():
    # x = (1, 2), label 0; z1 = W1 x = (0.5, 0.5) so ReLU passes it; z2 = W2 a1 = (0, 0.2);
    # softmax: p = 1/(1+e^0.2) = 0.450166, q = 1 - p = 0.549834; loss = -ln p = 0.798139.
    # delta2 = a2 - e_0 = (-q, q); dW2 = delta2 a1^T = ±0.274917; db2 = delta2.
    # delta1 = W2^T delta2 (ReLU' = 1) = (0.5(-q) + 0.3q, -0.5(-q) + 0.1q) = (-0.109967, 0.329900);
    # dW1 = delta1 x^T. With lr 0.5 every parameter moves by -0.5 × its gradient:
    net = Network((2, 2, 2), "relu", init="zero", dtype=np.float64)
    net.W = [np.array([[0.1, 0.2], [-0.3, 0.4]]), np.array([[0.5, -0.5], [0.3, 0.1]])]
    loss, correct = net.sgd_step(np.array([[1.0, 2.0]]), np.array([0]), lr=0.5)
    assert loss == pytest.approx(0.798139, abs=1e-6) and correct == 0
    np.testing.assert_allclose(net.W[0], [[0.154983, 0.309967], [-0.464950, 0.070100]], atol=1e-6)
    np.testing.assert_allclose(net.b[0], [0.054983, -0.164950], atol=1e-6)
    np.testing.assert_allclose(net.W[1], [[0.637458, -0.362542], [0.162542, -0.037458]], atol=1e-6)
    np.testing.assert_allclose(net.b[1], [0.274917, -0.274917], atol=1e-6)


def test_large_inputs_give_no_overflow_and_finite_values():
    z = np.array([[1e4, -1e4, 0.0], [-1e30, 1e30, 5.0]], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
            p, lp, s = softmax(z), log_softmax(z), sigmoid(z)
            loss = cross_entropy(z, np.array([1, 0]))
    assert np.isfinite(lp).all() and np.isfinite(p).all() and np.isfinite(s).all()
    assert p.dtype == s.dtype == np.float32  # nets.formulas works in float64; the network keeps float32
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(s[0], [1, 0, 0.5])
    assert loss == pytest.approx((2e4 + 2e30) / 2, rel=1e-5)  # exact, not inf
    assert sigmoid(np.float32(-100)) > 0 and sigmoid(np.float32(100)) == 1


def test_settings_are_checked():
    with pytest.raises(ScratchError, match="Activation"):
        Network((4, 3), "swish")
    with pytest.raises(ScratchError, match="Initialisation"):
        Network((4, 3), init="ones")
    with pytest.raises(ScratchError, match="Scale"):
        Network((4, 3), scale="big")
    for bad, why in (("12,x", "whole numbers"), ("", "at least one number"), ("64,0", "at least 1")):
        with pytest.raises(ParseError, match=f"Hidden layer sizes: .*{why}"):
            parse_hidden(bad)
    assert parse_hidden("256, 128,64") == (256, 128, 64)


def test_the_settings_read_as_the_page_shows_them():
    assert describe_layers((16, 8), "relu", "normal", "he").startswith(
        "Layers: input-16-8-classes, relu between them, softmax at the output. Initial weights: normal N(0, std²), "
        "std = √(2/n_in): 0.05051, 0.3536 by layer")
    assert "std = 0.01" in describe_layers((16,), "tanh", "random", "0.01")
    assert SCALE_LABELS["xavier"] == "Xavier: √(1/n_in)" and all(init_std(1, s) > 0 for s in SCALE_LABELS)
    assert lessons_before_training("zero", "linear") == ["zero-init", "linear"]
    assert lessons_before_training("zero", "linear", shown=["zero-init"]) == ["linear"]
    assert lessons_before_training("normal", "relu") == []


def test_initialisations_have_the_stated_scale():
    normal = Network((2000, 300, 10), init="normal", scale="he", seed=0)
    uniform = Network((2000, 300, 10), init="random", scale="xavier", seed=0)
    assert normal.W[0].std() == pytest.approx(np.sqrt(2 / 2000), rel=0.01)
    assert uniform.W[0].std() == pytest.approx(np.sqrt(1 / 2000), rel=0.01)
    assert np.abs(uniform.W[0]).max() <= np.sqrt(3 / 2000)
    assert all(not b.any() for b in normal.b + uniform.b)
    assert normal.W[0].dtype == np.float32


# ------------------------------------------------------------------ saving
def test_save_and_load_round_trip_and_architecture_check(tmp_path, mini):
    net = Network((784, 16, 10), "tanh", seed=3)
    fit(net, mini, epochs=2, lr=0.1, save_at=(1, 2), save_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch-001.npz", "epoch-002.npz"]
    with np.load(tmp_path / "epoch-002.npz", allow_pickle=False) as z:  # never needs pickle
        assert set(z.files) == {"architecture", "W0", "W1", "b0", "b1"}
    loaded = Network.load(tmp_path / "epoch-002.npz")
    assert loaded.architecture() == net.architecture()
    np.testing.assert_array_equal(loaded.predict_proba(mini.x_test), net.predict_proba(mini.x_test))
    assert not np.array_equal(Network.load(tmp_path / "epoch-001.npz").W[0], net.W[0])
    with pytest.raises(ScratchError, match="784-16-10 with tanh, not 784-16-10 with relu"):
        Network((784, 16, 10), "relu").load_weights(tmp_path / "epoch-002.npz")
    with pytest.raises(ScratchError, match="not 784-32-10"):
        Network((784, 32, 10), "tanh").load_weights(tmp_path / "epoch-002.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ScratchError, match="not a weights file"):
        Network.load(tmp_path / "junk.npz")


# ------------------------------------------------------------------ data
def write_idx_from(root, folder, x, y):
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, len(x) - 100, 28, 28) + x[100:].tobytes())
    (raw / "train-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, len(y) - 100) + y[100:].tobytes())
    (raw / "t10k-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, 100, 28, 28) + x[:100].tobytes())
    (raw / "t10k-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, 100) + y[:100].tobytes())


def test_training_beats_chance_on_a_small_real_format_dataset(tmp_path):
    # Real digits written as Fashion-MNIST idx files, read back through the app's loader.
    d = load_dataset("mnist-mini")
    x, y = d.x_train[:1500, 0].numpy(), d.y_train[:1500].numpy().astype(np.uint8)
    write_idx_from(tmp_path, "FashionMNIST", x, y)
    data = load_scratch_data("fashion-mnist", tmp_path)
    assert (len(data.x_train), len(data.x_val), len(data.x_test)) == (1200, 150, 150)
    assert data.x_train.dtype == np.float32 and data.x_train.shape[1] == 784 and data.x_train.max() <= 1
    net = Network((784, 64, 32, 10), "relu", seed=0)
    history = fit(net, data, epochs=5, lr=0.1, batch_size=32)
    assert [r["epoch"] for r in history] == [1, 2, 3, 4, 5]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert net.score(data.x_test, data.y_test) > 0.6  # chance is 0.1
    assert net.predict(data.x_test).shape == (150,)
    np.testing.assert_allclose(net.predict_proba(data.x_test).sum(axis=1), 1, rtol=1e-5)


def test_split_is_80_10_10_disjoint_and_fixed_by_the_seed():
    x = (np.arange(1000) % 250).astype(np.uint8).reshape(1000, 1, 1, 1)
    y = np.arange(1000)  # labels as ids: shows where every example went
    a, b, c = split_80_10_10(x, y, ["c"], seed=0), split_80_10_10(x, y, ["c"], seed=0), split_80_10_10(x, y, ["c"], 1)
    assert (len(a.y_train), len(a.y_val), len(a.y_test)) == (800, 100, 100)
    assert len(set(a.y_train) | set(a.y_val) | set(a.y_test)) == 1000
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_test, c.y_test)
    np.testing.assert_allclose(a.x_train[:, 0], (a.y_train % 250) / 255, rtol=1e-6)


# ------------------------------------------------------------------ training
def test_zero_initialisation_keeps_units_identical(mini):
    sigmoid_net = Network((784, 16, 8, 10), "sigmoid", init="zero")
    history = fit(sigmoid_net, mini, epochs=2, lr=0.5)
    assert identical_units(sigmoid_net) == [True, True]
    assert np.abs(sigmoid_net.W[0]).max() > 0  # the units did learn: all the same thing
    assert max(r["val_acc"] for r in history) < 0.5
    for activation in ("relu", "tanh"):  # f(0) = 0: every hidden unit outputs 0, no weight moves
        net = Network((784, 16, 8, 10), activation, init="zero")
        fit(net, mini, epochs=1)
        assert identical_units(net) == [True, True] and not any(W.any() for W in net.W)
        assert net.b[-1].any()  # only the output biases learn
    normal = Network((784, 16, 8, 10), "sigmoid")
    fit(normal, mini, epochs=1)
    assert identical_units(normal) == [False, False]


def test_fit_reports_each_epoch_shuffles_afresh_and_stops(mini):
    assert not np.array_equal(epoch_order(0, 1, 100), epoch_order(0, 2, 100))
    np.testing.assert_array_equal(epoch_order(0, 1, 100), epoch_order(0, 1, 100))
    seen, stop = [], threading.Event()

    def on_epoch(record):
        seen.append(record)
        stop.set()

    history = fit(Network((784, 8, 10)), mini, epochs=5, on_epoch=on_epoch, stop=stop)
    assert history == seen and len(seen) == 1
    assert set(seen[0]) == {"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds", "diverged"}
    assert seen[0]["diverged"] is False
    with pytest.raises(ScratchError):
        fit(Network((784, 8, 10)), mini, lr=0)


def test_a_diverging_run_stops_and_says_so_without_warnings(mini):
    net = Network((784, 64, 64, 10), "linear", scale=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = fit(net, mini, epochs=5, lr=10.0)
    assert len(history) == 1 and history[-1]["diverged"] is True
    assert not np.isfinite(history[-1]["train_loss"])


def test_linear_layers_collapse_to_one(mini):
    net = Network((784, 32, 16, 10), "linear", dtype=np.float64)
    fit(net, mini, epochs=1)
    W, b = collapse_linear(net)
    assert W.shape == (10, 784)
    np.testing.assert_allclose(mini.x_test @ W.T + b, net.logits(mini.x_test), atol=1e-9)


def test_torch_twin_follows_the_same_loss_curve(mini):
    net = Network((784, 32, 16, 10), "sigmoid", dtype=np.float64)
    model = torch_twin(net)
    x, y = as_tensors(mini.x_train, mini.y_train, model)
    history = fit(net, mini, epochs=2, lr=0.5, batch_size=50)
    twin = [twin_sgd_epoch(model, x, y, epoch_order(0, e, len(x)), 0.5, 50) for e in (1, 2)]
    for ours, theirs in zip(history, twin):
        assert ours["train_loss"] == pytest.approx(theirs[0], abs=1e-10)
        assert ours["train_acc"] == theirs[1]
    val = twin_evaluate(model, *as_tensors(mini.x_val, mini.y_val, model))
    assert val[0] == pytest.approx(history[-1]["val_loss"], abs=1e-10)
    stop = threading.Event()
    stop.set()
    assert twin_sgd_epoch(model, x, y, epoch_order(0, 3, len(x)), 0.5, 50, stop) is None
    before = torch.get_num_threads()
    with torch_threads(before + 1):
        assert torch.get_num_threads() == before + 1
    assert torch.get_num_threads() == before


# ------------------------------------------------------------------ the lab's jobs, through the job service
TINY = dict(dataset="mnist-mini", hidden=(16, 8), epochs=2)
LONG = LabSettings(dataset="mnist-mini", hidden=(16,), epochs=500, twin=False)


@pytest.fixture(params=["thread", "process"])
def jobs(ckpt, request):
    """The server's one job service, with both backends: a thread here, and worker processes."""
    manager = JobManager(ckpt, max_running=1, backend=request.param)
    yield manager
    manager.close()


@pytest.fixture
def lab(ckpt):
    """The job service in threads, for what the lab's work shows (the backends are tested above)."""
    manager = JobManager(ckpt, max_running=1)
    yield manager
    manager.close()




def test_a_single_run_beside_its_twin_through_the_job_service(jobs):
    job = jobs.submit_lab(LabSettings(**TINY, activation="tanh", init="zero", twin=True), owner="alice")
    v = jobs.wait(job.id, timeout=120)
    assert v.kind == "lab" and v.status == "completed", (v.error, v.error_details)
    assert v.owner == "alice" and v.label == "from scratch · 16-8 tanh · mnist-mini · lr 0.1"
    assert v.ended >= v.started >= v.created and v.classes[:2] == ["0", "1"]
    assert set(v.runs) == set(v.results) == {NUMPY, TORCH}
    assert [r["epoch"] for r in v.runs[NUMPY]] == [r["epoch"] for r in v.runs[TORCH]] == [1, 2]
    assert twin_gap(v.runs) < 1e-4
    assert v.lessons() == ["zero-init", "twin"]
    assert "layer 1 identical, layer 2 identical" in evidence_text(v, "zero-init")
    assert list(v.weights) == [NUMPY]  # the one the page offers, as the bytes of a .npz file
    with np.load(io.BytesIO(v.weights[NUMPY]), allow_pickle=False) as z:
        assert set(z.files) == {"architecture", "W0", "W1", "W2", "b0", "b1", "b2"}
    assert Network.load(io.BytesIO(v.weights[NUMPY])).sizes == (784, 16, 8, 10)


def test_compare_mode_trains_four_activations_and_explains(lab):
    jobs = lab  # what the work shows, not how a backend carries it
    v = jobs.wait(jobs.submit_lab(LabSettings(**{**TINY, "epochs": 1}, mode="compare")).id, timeout=120)
    assert v.status == "completed", v.error
    table = results_table(v)
    assert table["network"].tolist() == ["relu", "tanh", "sigmoid", "linear"]
    assert (table["test acc"] > 0.5).sum() >= 3
    assert "linear" in v.lessons() and "collapsed layer" in evidence_text(v, "linear")
    assert v.evidence["linear"]["one-layer gap"] < 1e-3
    assert progress(v)[0] == 1.0 and v.weights == {}


def test_a_lab_run_stops_mid_run_and_keeps_what_it_learnt(jobs):
    job = jobs.submit_lab(LONG, owner="alice")
    until(lambda: jobs.view(job.id).runs)
    assert jobs.stop(job.id)
    v = jobs.wait(job.id)
    assert v.status == "stopped" and 1 <= v.results[NUMPY]["epochs"] < 500
    assert Network.load(io.BytesIO(v.weights[NUMPY])).sizes == (784, 16, 10)
    assert progress(v)[1].startswith("stopped · ")


def test_bad_lab_settings_are_refused_at_submit(jobs):
    for settings, reason in ((LabSettings(dataset="mnist-mini", lr=-1), "Learning rate"),
                             (LabSettings(dataset="folder"), "Unknown dataset"),
                             (LabSettings(activation="swish"), "Unknown activation"),
                             (LabSettings(scale="big"), "Scale")):
        with pytest.raises(ScratchError, match=reason):
            jobs.submit_lab(settings)
    assert jobs.views() == []


def test_only_the_owner_or_the_lecturer_sees_and_stops_a_lab_run(jobs):
    from nets.runs.access import Access
    alice, bob = Access("alice", False, True), Access("bob", False, True)
    lecturer = Access("lecturer", True, False)
    job = jobs.submit_lab(LONG, owner="alice")
    assert jobs.view(job.id, bob) is None and jobs.views(bob) == []
    assert not jobs.stop(job.id, bob) and jobs.view(job.id).status == "running"
    assert jobs.view(job.id, alice).kind == "lab" and [v.id for v in jobs.views(lecturer)] == [job.id]
    assert jobs.stop(job.id, lecturer)
    assert jobs.wait(job.id).status == "stopped"


def test_lab_runs_share_the_queue_and_its_fairness_with_training(ckpt):
    manager = JobManager(ckpt, max_running=2, max_per_owner=1)
    try:
        train = manager.submit(TrainConfig(model="mlp", epochs=1000, train_per_class=20, log_every=1), owner="alice")
        mine, theirs = manager.submit_lab(LabSettings(**TINY), owner="alice"), manager.submit_lab(LONG, owner="bob")
        views = {v.id: v for v in manager.views()}
        assert [views[j.id].status for j in (train, mine, theirs)] == ["running", "queued", "running"]
        assert views[mine.id].position == 1 and [v.kind for v in views.values()] == ["train", "lab", "lab"]
        manager.stop(train.id)
        assert manager.wait(train.id).status == "stopped"
        assert manager.wait(mine.id, timeout=120).status == "completed"
        manager.stop(theirs.id)
        assert manager.wait(theirs.id).status == "stopped"
    finally:
        manager.close()


def test_the_thread_backend_changes_no_thread_count_and_a_worker_sets_its_own(lab):
    torch_before, blas_before = torch.get_num_threads(), numpy_blas_threads()
    try:  # counts the old registry would have changed to 1 while a run trained
        torch.set_num_threads(2)
        numpy_blas_threads(2)
        seen = set()
        job = lab.submit_lab(LabSettings(**TINY))
        while lab.view(job.id).active:
            seen.add((torch.get_num_threads(), numpy_blas_threads()))
            time.sleep(0.01)
        assert lab.view(job.id).status == "completed" and seen <= {(2, 2 if blas_before else None)}
        # in a worker process (own_process) the job takes one thread of each, and gives them back
        during = []

        def emit(message):
            if message["type"] == "lab":  # the training's messages (loading comes before)
                during.append((torch.get_num_threads(), numpy_blas_threads()))

        spec = LabWork(LabSettings(**TINY)).spec()
        assert run_job(spec, emit, threading.Event(), DataCache(), own_process=True)["status"] == "completed"
        assert set(during) == {(1, 1 if blas_before else None)}
        assert (torch.get_num_threads(), numpy_blas_threads()) == (2, 2 if blas_before else None)
    finally:
        torch.set_num_threads(torch_before)
        if blas_before is not None:
            numpy_blas_threads(blas_before)


def test_a_lab_job_that_cannot_load_its_data_fails_with_the_reason(lab, monkeypatch):
    from nets.engine.data import DatasetError
    from nets.scratch import lab as scratch_lab

    def missing(*args, on_progress=None, **kwargs):
        on_progress("Downloading MNIST…", 0.5)
        raise DatasetError("MNIST could not be downloaded.", details="http://example.invalid/mnist")

    monkeypatch.setattr(scratch_lab, "load_scratch_data", missing)
    v = lab.wait(lab.submit_lab(LabSettings(dataset="mnist")).id)
    assert v.status == "failed" and v.error == "MNIST could not be downloaded."
    assert v.error_details == "http://example.invalid/mnist" and v.phase is None and v.runs == {}


def test_divergence_is_explained(lab):
    job = lab.submit_lab(LabSettings(dataset="mnist-mini", hidden=(64, 64), activation="linear", scale="1.0",
                                     lr=10.0, epochs=3, twin=False))
    v = lab.wait(job.id, timeout=60)
    assert v.status == "completed" and v.results["NumPy"]["epochs"] == 1
    assert v.lessons() == ["diverged", "linear"]
    assert evidence_text(v, "diverged") == "Diverged: NumPy in epoch 1."
    assert evidence_text(v, "linear") == ""  # no gap to show from NaN weights


def test_sigmoid_at_chance_calls_for_the_vanishing_gradient_lesson(lab):
    job = lab.submit_lab(LabSettings(dataset="mnist-mini", hidden=(32, 32, 32), activation="sigmoid",
                                     scale="0.01", lr=0.01, batch_size=128, epochs=1, twin=False))
    v = lab.wait(job.id, timeout=60)
    assert v.results["NumPy"]["val_acc"] < 0.2 and v.lessons() == ["vanishing"]


def test_every_lesson_has_its_text():
    from pathlib import Path
    intro, sections = lesson_sections((Path(__file__).parent.parent / "assets" / "scratch.md").read_text())
    assert "NumPy" in intro and set(LESSONS.values()) <= set(sections)


# ------------------------------------------------------------------ command line
def test_benchmark_and_accuracy_entry_points(mini, capsys):
    r = time_epochs(Network((784, 32, 10)), mini, epochs=1, lr=0.1, batch_size=32)
    assert r["numpy_s"] > 0 and r["torch_s"] > 0 and r["ratio"] == pytest.approx(r["numpy_s"] / r["torch_s"])
    assert r["val_loss_numpy"] == pytest.approx(r["val_loss_torch"], abs=1e-3)  # same work on both sides
    history = accuracy_main(["--dataset", "mnist-mini", "--hidden", "16", "--epochs", "3",
                             "--stop-at-test-acc", "0.5"])
    out = capsys.readouterr().out
    assert "epoch   1" in out and f"final test accuracy {history[-1]['test_acc']:.4f}" in out
    assert len(history) < 3 and history[-1]["test_acc"] >= 0.5


def test_speed_entry_point_and_blas_threads(capsys):
    before = numpy_blas_threads()
    try:
        r = speed_main(["--dataset", "mnist-mini", "--hidden", "16", "--epochs", "1", "--blas-threads", "1"])
        out = capsys.readouterr().out
        assert before is None or "torch threads 1, numpy 1 BLAS thread(s)" in out
        assert f"numpy {r['numpy_s']:.2f} s/epoch, torch {r['torch_s']:.2f} s/epoch, ratio {r['ratio']:.2f}×" in out
    finally:
        numpy_blas_threads(before)

"""The feature projector's logic: penultimate features equal the model's own activations, the cache
per weights file (new weights invalidate it), kNN purity on constructed clusters, Procrustes
alignment, PCA of a known matrix, UMAP and t-SNE on a few hundred points. Synthetic data, tiny models."""
import numpy as np
import pytest
import torch
from torch import nn

from nets.engine.config import TrainConfig
from nets.engine.data import ImageData
from nets.engine.models import build_model
from nets.inspect import projection
from nets.inspect.features import FeatureError, features_of, penultimate
from nets.inspect.projection import ProjectionError, align, knn_purity, pca, project
from nets.runs import create_run, get_run, save_best
from nets.runs.features_cache import (features_path, load_features, projection_path, run_features, run_projection,
                                      run_purity)


def blobs(n_per=60, k=4, d=16, spread=0.05, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d)) * 10
    x = np.concatenate([c + spread * rng.normal(size=(n_per, d)) for c in centres]).astype(np.float32)
    return x, np.repeat(np.arange(k), n_per)


# ----------------------------------------------------------------------------- penultimate
@pytest.mark.parametrize("name", ["mlp", "lenet", "cnn5"])
def test_penultimate_equals_a_manual_forward(name):
    torch.manual_seed(0)
    model = build_model(name, [1, 28, 28], 10).train()
    x = torch.randn(37, 1, 28, 28)
    got = penultimate(model, [x[:20], x[20:]])  # two batches
    assert model.training  # put back in the mode it was in
    model.eval()
    last = max(i for i, m in enumerate(model) if isinstance(m, nn.Linear))
    with torch.no_grad():  # by hand: every layer before the last Linear, then that Linear gives the logits
        h = model[:last](x).flatten(1)
        np.testing.assert_allclose(model[last:](h).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-5)
    assert got.dtype == np.float32 and got.shape == tuple(h.shape)
    np.testing.assert_allclose(got, h.numpy(), rtol=1e-5, atol=1e-6)


def test_penultimate_restores_the_mode_and_refuses_a_network_without_linear():
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).train()
    x = torch.randn(5, 4)
    np.testing.assert_allclose(penultimate(model, [x]), torch.relu(model[1](x)).detach().numpy(), rtol=1e-6)
    assert model.training
    with pytest.raises(FeatureError, match="no Linear"):
        penultimate(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten()), [torch.randn(2, 1, 5, 5)])


def test_features_of_images_normalises_as_in_training_and_keeps_the_top5():
    torch.manual_seed(1)
    model = build_model("mlp", [1, 8, 8], 7, hidden=[6])
    x = torch.randint(0, 256, (11, 1, 8, 8), dtype=torch.uint8)
    y = torch.arange(11) % 7
    f = features_of(model, x, y, [0.2], [0.4], [str(i) for i in range(7)], batch_size=4)
    with torch.no_grad():
        logits = model((x.float() / 255 - 0.2) / 0.4)
        want = model[:-1]((x.float() / 255 - 0.2) / 0.4)
    np.testing.assert_allclose(f.x, want.numpy(), rtol=1e-5, atol=1e-6)
    assert f.top5.shape == (11, 5) and (f.top5[:, 0] == logits.argmax(1).numpy()).all()
    assert (f.predictions == f.top5[:, 0]).all() and np.all(np.diff(f.top5_p, axis=1) <= 0)
    assert f.mistakes.dtype == bool and 0 <= f.accuracy <= 1


# ----------------------------------------------------------------------------- the cache
def tiny_data(n=40):
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, 1, 8, 8), dtype=torch.uint8, generator=g)
    y = torch.arange(n) % 3
    return ImageData("tiny", ["a", "b", "c"], x, y, x, y, mean=[0.5], std=[0.25])


def tiny_run(ckpt, seed=0):
    cfg = TrainConfig.from_dict({"dataset": "mnist-mini", "model": "mlp", "hidden": [5], "name": "tiny"})
    info = {"classes": ["a", "b", "c"], "mean": [0.5], "std": [0.25], "input_shape": [1, 8, 8], "num_classes": 3,
            "status": "completed"}
    run = create_run(ckpt, cfg, info, run_id="tiny")
    torch.manual_seed(seed)
    save_best(run, build_model("mlp", [1, 8, 8], 3, hidden=[5]).state_dict(), best={"epoch": 1, "accuracy": 0.3})
    return get_run(ckpt, "tiny")


def test_features_are_stored_once_per_weights_file_and_new_weights_invalidate_them(ckpt, monkeypatch):
    data = tiny_data()
    run = tiny_run(ckpt)
    first = run_features(run, data=data)
    assert first.x.shape == (40, 5) and first.weights == run.weights_file and features_path(run).exists()
    assert first.classes == ["a", "b", "c"] and (first.labels == data.y_test.numpy()).all()
    import nets.runs.features_cache as fc
    monkeypatch.setattr(fc, "compute_features", lambda *a, **k: pytest.fail("computed again"))
    again = run_features(get_run(ckpt, "tiny"), data=data)
    np.testing.assert_array_equal(again.x, first.x)  # the first answer is the stored one, exactly
    pca_2d = run_projection(run, "pca", features=again)
    assert pca_2d.shape == (40, 2) and projection_path(run, "pca", {}).exists()
    purity = run_purity(run, features=again, k=3)
    monkeypatch.undo()
    old = {features_path(run).name, projection_path(run, "pca", {}).name}
    torch.manual_seed(5)  # new best weights: a new file name, the stored features no longer apply
    save_best(run, build_model("mlp", [1, 8, 8], 3, hidden=[5]).state_dict(), best={"epoch": 2, "accuracy": 0.4})
    run = get_run(ckpt, "tiny")
    assert load_features(run) is None
    new = run_features(run, data=data)
    assert not np.allclose(new.x, first.x) and new.weights == run.weights_file
    run_projection(run, "pca", features=new)
    assert 0 <= purity <= 1 and run_purity(run, features=new, k=3) >= 0
    names = {p.name for p in run.path.iterdir()}
    assert not old & names, "the files of the old weights are deleted"
    (run.path / "features-e0001.npz").write_bytes(b"per-epoch subset: not this module's")
    run_purity(run, features=new, k=4)  # a new file written: the clean-up runs and leaves it alone
    assert (run.path / "features-e0001.npz").exists()
    with pytest.raises(ProjectionError, match="no parameter"):
        run_projection(run, "pca", features=new, seed=1)


def test_a_class_asking_at_once_costs_one_computation_at_a_time(ckpt, monkeypatch):
    """Eight students open the projector together, on two settings: the projections run one after another
    (one core, not eight), each setting is computed once, and everyone gets the stored answer."""
    import threading
    import time

    import nets.runs.features_cache as fc
    data = tiny_data()
    run = tiny_run(ckpt)
    features = run_features(run, data=data)
    running, most, calls = [0], [0], []

    def slow_project(x, method, **params):
        running[0] += 1
        most[0] = max(most[0], running[0])
        calls.append(params["seed"])
        time.sleep(0.05)
        running[0] -= 1
        return x[:, :2] + params["seed"]
    monkeypatch.setattr(fc, "project", slow_project)
    got = {}

    def student(i):
        got[i] = run_projection(get_run(ckpt, "tiny"), "umap", features=features, seed=i % 2)
    threads = [threading.Thread(target=student, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 1 and sorted(calls) == [0, 1]
    assert all(np.array_equal(got[i], got[i % 2]) for i in range(8))


def test_a_damaged_or_foreign_features_file_is_computed_again(ckpt):
    data = tiny_data()
    run = tiny_run(ckpt)
    features_path(run).write_bytes(b"not an npz")
    assert load_features(run) is None
    assert run_features(run, data=data).x.shape == (40, 5)


# ----------------------------------------------------------------------------- purity, alignment, PCA
def test_purity_is_one_on_separated_clusters_and_chance_on_shuffled_labels():
    x, y = blobs(n_per=100, k=5)
    assert knn_purity(x, y, k=10) == 1.0
    rng = np.random.default_rng(1)
    shuffled = knn_purity(x, rng.permutation(y), k=10)
    assert abs(shuffled - 1 / 5) < 0.05
    dup = np.zeros((6, 2), np.float32)  # identical points: itself excluded still
    assert knn_purity(dup, [0, 0, 0, 1, 1, 1], k=2) == pytest.approx(np.mean([0.5] * 6), abs=0.5)
    assert knn_purity(x[:2], y[:2], k=10) in (0.0, 1.0)  # k capped at N − 1


def test_align_recovers_a_rotated_mirrored_scaled_shifted_copy():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 2)).astype(np.float32)
    t = np.deg2rad(73)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]) @ np.diag([1, -1])
    b = 3.5 * a @ rot + np.array([10.0, -4.0])
    np.testing.assert_allclose(align(a, b), a, atol=1e-4)
    noisy = align(a, b + 0.01 * rng.normal(size=b.shape))
    assert np.abs(noisy - a).max() < 0.05
    with pytest.raises(ProjectionError):
        align(a, b[:10])


def test_pca_of_a_known_matrix():
    rng = np.random.default_rng(0)
    t = rng.normal(size=200)
    t -= t.mean()
    s = rng.normal(size=200)
    s -= s.mean()
    s = 0.1 * (s - (s @ t) / (t @ t) * t)  # uncorrelated with t: the axes are exactly u and v
    u = np.array([3, 4, 0, 0]) / 5.0
    v = np.array([0, 0, 1, 0])
    x = 5 + np.outer(t, u) * 10 + np.outer(s, v)
    y = pca(x)
    assert y.shape == (200, 2) and y.dtype == np.float32
    np.testing.assert_allclose(np.abs(y[:, 0]), np.abs(10 * t), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.abs(y[:, 1]), np.abs(s), rtol=1e-3, atol=1e-4)
    np.testing.assert_array_equal(pca(x), y)  # the same picture every time
    assert pca(np.ones((3, 1))).shape == (3, 2)
    with pytest.raises(ProjectionError, match="NaN"):
        pca(np.array([[np.nan, 1.0], [0.0, 1.0]]))


# ----------------------------------------------------------------------------- UMAP and t-SNE
def test_missing_packages_say_how_to_install(monkeypatch):
    monkeypatch.setattr(projection, "available", lambda m: m == "pca")
    with pytest.raises(ProjectionError, match="umap-learn: pip install -r requirements-projector.txt"):
        project(np.zeros((10, 3)), "umap")
    with pytest.raises(ProjectionError, match="openTSNE"):
        project(np.zeros((10, 3)), "tsne")
    assert project(np.eye(4), "pca").shape == (4, 2)
    assert projection.full_params("tsne", perplexity=30) == {"perplexity": 30.0, "seed": 0}  # one key for one setting
    assert projection.full_params("umap", n_neighbors=15.0, min_dist=0.1) == projection.PARAMS["umap"]


def test_umap_gets_the_exact_neighbour_graph_its_parameters_and_the_seed(monkeypatch):
    """umap-learn's first call in a process compiles for ~10 s (numba), so the suite checks what it is
    handed; the real layout's quality is measured by tests/bench_projector.py (purity of its 2-D map)."""
    import sys
    import types
    seen = {}

    class UMAP:
        def __init__(self, **kwargs):
            seen.update(kwargs)

        def fit_transform(self, x):
            return x[:, :2] * 2

    monkeypatch.setitem(sys.modules, "umap", types.SimpleNamespace(UMAP=UMAP))
    monkeypatch.setattr(projection, "_require", lambda method: None)
    x, _ = blobs(n_per=10, k=3, d=5)
    a = project(x, "umap", n_neighbors=50, min_dist=0.3, seed=7)
    assert a.dtype == np.float32 and np.allclose(a, x[:, :2] * 2)
    assert seen["n_neighbors"] == 29 and seen["min_dist"] == 0.3 and seen["random_state"] == 7  # k ≤ N − 1
    idx, dist, _ = seen["precomputed_knn"]
    assert (idx[:, 0] == np.arange(30)).all() and (dist[:, 0] == 0).all()  # itself first, as umap-learn counts
    want, _ = projection.nearest(x, 28)
    assert (idx[:, 1:] == want).all()


@pytest.mark.parametrize("method, params", [("tsne", {"perplexity": 20})])
def test_tsne_keeps_clusters_apart_and_is_seeded(method, params):
    if not projection.available(method):
        pytest.skip(f"{method}'s package is not installed ({projection.INSTALL}); CI installs it")
    x, y = blobs(n_per=50, k=4, d=20)
    a = project(x, method, seed=0, **params)
    assert a.shape == (200, 2) and a.dtype == np.float32
    assert knn_purity(a, y, k=10) > 0.95
    np.testing.assert_array_equal(project(x, method, seed=0, **params), a)

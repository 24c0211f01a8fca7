"""Features to 2-D: PCA (NumPy), UMAP (umap-learn), t-SNE (openTSNE); Procrustes alignment; kNN purity.

Every projection returns N×2 float32 and is deterministic for a given seed. UMAP and t-SNE are
optional packages (requirements-projector.txt): without them `project` raises a ProjectionError
that says how to install them. `align` turns, mirrors and scales one 2-D layout onto another so
consecutive epochs do not jump; `knn_purity` is the share of each point's k nearest neighbours
(itself excluded) that share its class, computed exactly in NumPy.
"""
from __future__ import annotations

import importlib.util
import warnings

import numpy as np

METHODS = ("pca", "umap", "tsne")
TITLES = {"pca": "PCA", "umap": "UMAP", "tsne": "t-SNE"}
PACKAGES = {"umap": ("umap", "umap-learn"), "tsne": ("openTSNE", "openTSNE")}
INSTALL = "pip install -r requirements-projector.txt"
# Each method's parameters with their defaults and types (n_jobs is left out: it changes no result)
PARAMS = {"pca": {}, "umap": {"n_neighbors": 15, "min_dist": 0.1, "seed": 0}, "tsne": {"perplexity": 30.0, "seed": 0}}
# What each may be (the page's sliders, and the door of a projector job: a huge n_neighbors costs minutes)
RANGES = {"n_neighbors": (2, 200), "min_dist": (0.0, 0.99), "perplexity": (2.0, 100.0), "seed": (0, 2**31 - 1)}


def full_params(method: str, **params) -> dict:
    """The method's parameters with the defaults filled in and the types fixed (15.0 → 15), so equal
    settings compare equal (the key of a stored projection); an unknown name is a ProjectionError."""
    defaults = PARAMS.get(method)
    if defaults is None:
        raise ProjectionError(missing_reason(method) or f"Unknown projection '{method}'.")
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ProjectionError(f"{TITLES[method]} has no parameter(s) {unknown}; it takes {sorted(defaults)}.")
    try:
        full = {k: type(v)(params.get(k, v)) for k, v in defaults.items()}
    except (TypeError, ValueError) as e:
        raise ProjectionError(f"{TITLES[method]}'s parameters must be numbers: {e}.") from e
    for k, v in full.items():
        lo, hi = RANGES[k]
        if not lo <= v <= hi:  # NaN fails too
            raise ProjectionError(f"{TITLES[method]}'s {k} must be between {lo:g} and {hi:g}, not {v:g}.")
    return full


class ProjectionError(RuntimeError):
    """A projection that cannot be made: a missing package, or too few points."""


def available(method: str) -> bool:
    """Whether the method's package is installed (PCA always is)."""
    if method not in PACKAGES:
        return method in METHODS
    return importlib.util.find_spec(PACKAGES[method][0]) is not None


def missing_reason(method: str) -> str | None:
    """None when the method can run, else the sentence that says what to install."""
    if available(method):
        return None
    if method not in METHODS:
        return f"Unknown projection '{method}': choose one of {', '.join(METHODS)}."
    return f"{TITLES[method]} needs {PACKAGES[method][1]}: {INSTALL}"


def _require(method: str) -> None:
    reason = missing_reason(method)
    if reason:
        raise ProjectionError(reason)


def _matrix(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise ProjectionError(f"Features must be an N×D array, not shape {x.shape}.")
    if not np.isfinite(x).all():
        raise ProjectionError("The features hold NaN or infinite values (a diverged network): nothing to project.")
    return x


def _pad2(y: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((n, 2), np.float32)
    out[:, :y.shape[1]] = y[:, :2]
    return out


def pca(x, n_components: int = 2) -> np.ndarray:
    """The first principal components (N×n_components float32) by an SVD of the centred data; each
    axis's sign is fixed (its largest loading positive) so the same data give the same picture."""
    x = _matrix(x).astype(np.float64)
    n = len(x)
    if n == 0:
        return np.zeros((0, n_components), np.float32)
    xc = x - x.mean(0)
    # the D×D scatter matrix's eigenvectors are the right singular vectors: cheap for N ≫ D
    if x.shape[1] <= n:
        vals, vecs = np.linalg.eigh(xc.T @ xc)
        axes = vecs[:, ::-1][:, :n_components].T
    else:
        axes = np.linalg.svd(xc, full_matrices=False)[2][:n_components]
    signs = np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(1)])
    axes = axes * np.where(signs == 0, 1, signs)[:, None]
    y = (xc @ axes.T).astype(np.float32)
    return y if y.shape[1] == n_components else _pad2(y, n)[:, :n_components]


def umap(x, n_neighbors: int = 15, min_dist: float = 0.1, seed: int = 0, n_jobs: int = 1) -> np.ndarray:
    """UMAP to 2-D (umap-learn), seeded; n_neighbors is capped at N − 1. The neighbour graph is the
    exact one (`nearest`), handed to umap-learn: no approximate search, and none of its compile time."""
    _require("umap")
    x = _matrix(x)
    if len(x) < 4:
        raise ProjectionError(f"UMAP needs at least 4 points, not {len(x)}.")
    k = int(min(n_neighbors, len(x) - 1))
    idx, dist = nearest(x, k - 1)  # umap-learn's graph counts the point itself as its first neighbour
    idx = np.concatenate([np.arange(len(x))[:, None], idx], axis=1)
    dist = np.concatenate([np.zeros((len(x), 1), np.float32), dist], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # umap-learn's notes on seeds, n_jobs, tbb and a missing search index
        import umap as umap_learn
        reducer = umap_learn.UMAP(n_components=2, n_neighbors=k, min_dist=float(min_dist), random_state=seed,
                                  n_jobs=n_jobs, precomputed_knn=(idx, dist, None))
        return np.asarray(reducer.fit_transform(x), dtype=np.float32)


def tsne(x, perplexity: float = 30.0, seed: int = 0, n_jobs: int = 1) -> np.ndarray:
    """t-SNE to 2-D (openTSNE, FFT-accelerated), seeded, PCA-initialised; the perplexity is capped
    at (N − 1)/3, the most the points allow."""
    _require("tsne")
    x = _matrix(x)
    if len(x) < 4:
        raise ProjectionError(f"t-SNE needs at least 4 points, not {len(x)}.")
    from openTSNE import TSNE
    p = float(min(perplexity, (len(x) - 1) / 3))
    emb = TSNE(n_components=2, perplexity=p, random_state=seed, n_jobs=n_jobs, verbose=False).fit(x)
    return np.asarray(emb, dtype=np.float32)


def project(x, method: str, **params) -> np.ndarray:
    """N×2 by the named method ("pca", "umap" or "tsne") with its parameters."""
    params = full_params(method, **params)
    if method == "pca":
        return pca(x, 2)
    if method == "umap":
        return umap(x, **params)
    if method == "tsne":
        return tsne(x, **params)
    raise ProjectionError(missing_reason(method) or f"Unknown projection '{method}'.")


def align(prev_2d, cur_2d) -> np.ndarray:
    """cur_2d turned (rotation or reflection), scaled and shifted to lie as close as possible to
    prev_2d, point for point (orthogonal Procrustes with scale): consecutive epochs do not jump."""
    a = np.asarray(prev_2d, dtype=np.float64)
    b = np.asarray(cur_2d, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ProjectionError(f"align needs two layouts of the same points, not {a.shape} and {b.shape}.")
    if len(b) == 0 or not (np.isfinite(a).all() and np.isfinite(b).all()):
        return b.astype(np.float32)
    ma, mb = a.mean(0), b.mean(0)
    ac, bc = a - ma, b - mb
    norm = float((bc ** 2).sum())
    if norm == 0.0:
        return np.broadcast_to(ma, b.shape).astype(np.float32)
    u, s, vt = np.linalg.svd(bc.T @ ac)
    r = u @ vt
    scale = float(s.sum()) / norm
    return (scale * bc @ r + ma).astype(np.float32)


def nearest(x, k: int, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Each point's k nearest other points, exactly (Euclidean, NumPy, chunk rows at a time):
    (N×k indices, N×k distances), nearest first, the point itself excluded; k is capped at N − 1."""
    x = _matrix(x)
    n = len(x)
    k = int(min(k, n - 1))
    if k < 1:
        return np.zeros((n, 0), np.int64), np.zeros((n, 0), np.float32)
    sq = (x.astype(np.float64) ** 2).sum(1).astype(np.float32)
    idx, dist = np.empty((n, k), np.int64), np.empty((n, k), np.float32)
    for i in range(0, n, chunk):
        d = x[i:i + chunk] @ x.T  # |a|² + |b|² − 2ab, in place in float32
        d *= -2.0
        d += sq[None, :]
        d += sq[i:i + chunk, None]
        rows = np.arange(len(d))
        d[rows, i + rows] = np.inf  # itself excluded
        part = np.argpartition(d, k - 1, axis=1)[:, :k]
        order = np.argsort(d[rows[:, None], part], axis=1, kind="stable")
        idx[i:i + chunk] = part[rows[:, None], order]
        dist[i:i + chunk] = np.sqrt(np.maximum(d[rows[:, None], idx[i:i + chunk]], 0.0))
    return idx, dist


def neighbour_shares(x, labels, k: int = 10) -> np.ndarray:
    """Per point, the share of its k nearest neighbours (itself excluded) that share its class."""
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != len(x):
        raise ProjectionError(f"{len(x)} feature rows but {len(labels)} labels.")
    idx, _ = nearest(x, k)
    if idx.shape[1] == 0:
        return np.full(len(labels), np.nan)
    return (labels[idx] == labels[:, None]).mean(1)


def knn_purity(x, labels, k: int = 10) -> float:
    """How often a point's k nearest neighbours share its class (1.0: classes apart; about
    1/classes: classes mixed)."""
    shares = neighbour_shares(x, labels, k)
    return float(shares.mean()) if len(shares) else float("nan")

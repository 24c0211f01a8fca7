"""A run's layer statistics as the exports write them: histogram tags, buckets on a readable axis (log10 |x| or the activation's own range), per-layer scalars, and when each record was taken."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nets.engine import bins
from nets.engine.stats import Dynamics

PREFIX = "inside"
# The log bins of nets.engine.bins count |x|: [0] exact zeros, [1] 0 < |x| < 1e-10, [2..41] 0.3-decade
# bins from 1e-10 to 1e2, [42] |x| >= 1e2 (inf and NaN too). TensorBoard and W&B draw a histogram's
# x axis linearly, where bins of |x| from 1e-10 to 1e2 would all sit in the first pixel: the exports
# draw them on log10 |x| instead, the zeros and underflows in one bucket [-10.3, -10) and the
# overflows in [2, 2.3). Sigmoid and tanh outputs keep their linear bins on [0, 1] and [-1, 1].
LOG_UNDER = round(bins.LOG_LO - bins.LOG_STEP, 9)
LOG_OVER = round(bins.LOG_HI + bins.LOG_STEP, 9)
ABOUT = ("Histograms under inside/ are the fixed bins the lab records every few training steps, every "
         "record kept, against the training step. weight_log10abs, grad_log10abs and act_log10abs are "
         "histograms of log10 |x| in 0.3-decade buckets; the bucket [-10.3, -10) holds exact zeros and "
         "values under 1e-10 (a dead ReLU's zeros land there), the bucket [2, 2.3) values of 100 and "
         "more (inf and NaN too). act/<site> of a sigmoid or tanh is the output itself on [0, 1] or "
         "[-1, 1]. min and max are the outer edges of the filled buckets, sum and sum_squares are "
         "estimated from the buckets' midpoints. Scalars: grad_norm and update_ratio (|dw|/|w| of the "
         "optimiser's real step; about 1e-3 is healthy) per layer, dead_share per ReLU (units that never "
         "fired over the window), saturated_share per sigmoid/tanh.")


@dataclass
class Histograms:
    tag: str             # "inside/grad_log10abs/fc1"
    counts: np.ndarray   # (H, buckets) on the axis below
    edges: np.ndarray    # buckets + 1 finite edges in axis units, increasing


def axis_edges(kind: str) -> np.ndarray:
    """The bucket edges the exports draw for a kind of statistic ('log', 'sigmoid', 'tanh')."""
    if bins.scale_of(kind) == "linear":
        return bins.edges(kind)
    inner = np.round(np.linspace(bins.LOG_LO, bins.LOG_HI, bins.BINS - 2), 9)
    return np.concatenate([[LOG_UNDER], inner, [LOG_OVER]])


def axis_counts(counts: np.ndarray, kind: str) -> np.ndarray:
    """(..., BINS) recorded counts on the buckets of `axis_edges(kind)`: for log bins the zeros and the
    underflows are one bucket."""
    counts = np.asarray(counts, np.int64)
    if bins.scale_of(kind) == "linear":
        return counts
    return np.concatenate([counts[..., :2].sum(-1, keepdims=True), counts[..., 2:]], -1)


def hist_tag(what: str, name: str, kind: str) -> str:
    """'inside/grad_log10abs/fc1', 'inside/act_log10abs/relu after fc1', 'inside/act/sigmoid after fc1'."""
    axis = "" if bins.scale_of(kind) == "linear" else "_log10abs"
    return f"{PREFIX}/{what}{axis}/{name}"


def histograms(d: Dynamics) -> list[Histograms]:
    """Every histogram series of a run: weights and gradients per layer, then activations per site;
    row i of each belongs to step d.hist_step[i]."""
    out = []
    for what, arr in (("weight", d.hist_weight), ("grad", d.hist_grad)):
        for j, name in enumerate(d.layers):
            out.append(Histograms(hist_tag(what, name, "log"), axis_counts(arr[:, j], "log"), axis_edges("log")))
    for j, (name, kind) in enumerate(zip(d.sites, d.site_kinds)):
        kind = kind if bins.scale_of(kind) == "linear" else "log"
        out.append(Histograms(hist_tag("act", name, kind), axis_counts(d.hist_act[:, j], kind), axis_edges(kind)))
    return out


def scalars(d: Dynamics) -> list[tuple[str, np.ndarray]]:
    """(tag, (R,) values) per layer and site: gradient norm, update ratio, dead share (ReLUs),
    saturated share (sigmoid, tanh). A column that is NaN throughout (not measured for that kind) is left out."""
    out = []
    ratio = d.update_ratio
    for j, name in enumerate(d.layers):
        out += [(f"{PREFIX}/grad_norm/{name}", d.grad_norm[:, j]), (f"{PREFIX}/update_ratio/{name}", ratio[:, j])]
    for j, name in enumerate(d.sites):
        for key, arr in (("dead_share", d.dead), ("saturated_share", d.saturated)):
            if len(d) and not np.all(np.isnan(arr[:, j])):
                out.append((f"{PREFIX}/{key}/{name}", arr[:, j]))
    return out


def raw(counts: np.ndarray, edges: np.ndarray) -> dict | None:
    """TensorBoard's raw histogram of one row (add_histogram_raw's keywords), cut to the filled buckets so
    that TensorBoard's left edge of the first bucket (its min) and right edge of the last (its max) are the
    buckets' own; None for an empty row."""
    counts = np.asarray(counts, np.int64)
    filled = np.flatnonzero(counts)
    if not len(filled):
        return None
    a, b = filled[0], filled[-1] + 1
    c, lo, hi = counts[a:b], edges[a:b], edges[a + 1:b + 1]
    mid = (lo + hi) / 2
    return {"min": float(lo[0]), "max": float(hi[-1]), "num": int(c.sum()), "sum": float(c @ mid),
            "sum_squares": float(c @ (mid * mid)), "bucket_limits": hi.tolist(), "bucket_counts": c.tolist()}


def epoch_end_steps(d: Dynamics, epochs: list[int]) -> list[int]:
    """For each epoch, the last training step recorded in it or before it (0 before any record): a
    step that puts the epoch's metrics after its own records and before the next epoch's."""
    out = []
    for e in epochs:
        before = d.step[d.epoch <= e]
        out.append(int(before.max()) if len(before) else 0)
    return out


def record_times(d: Dynamics, epochs: list[int], ends: list[float], start: float) -> np.ndarray:
    """Wall times of the records, interpolated between the epochs' end times (`ends`, from the
    history) by training step; the run's start for records before the first epoch's end."""
    if not epochs or not len(d):
        return np.full(len(d), start, dtype=np.float64)
    xs = [0, *epoch_end_steps(d, epochs)]
    ys = [start, *ends]
    keep = [i for i in range(len(xs)) if i == 0 or xs[i] > xs[i - 1]]  # np.interp needs increasing steps
    return np.interp(d.step, [xs[i] for i in keep], [ys[i] for i in keep])


def for_wandb(d: Dynamics | None, epochs: list[int], path) -> dict | None:
    """The W&B export's child input (the child never imports torch): per record its step and epoch,
    the scalars (NaN where not measured) and each histogram series, in one .npz at `path`; the tags
    and each epoch's train_step (epoch_end_steps) beside it. None without records."""
    if d is None or not len(d):
        return None
    hists, values = histograms(d), scalars(d)
    arrays = {"step": d.step, "epoch": d.epoch, "hist_step": d.hist_step,
              "scalars": np.array([v for _, v in values], np.float64).reshape(len(values), len(d))}
    for i, h in enumerate(hists):
        arrays[f"counts{i}"], arrays[f"edges{i}"] = h.counts, h.edges
    np.savez_compressed(path, **arrays)
    return {"file": str(path), "histograms": [h.tag for h in hists], "scalars": [t for t, _ in values],
            "epoch_steps": epoch_end_steps(d, epochs)}

"""`python -m nets charts`: the server's cost of one redraw of the Train page's live charts
(frames, the three Altair charts and their JSON, which is what Streamlit sends), early and late in a run;
then the same for "Inside the network" (two per-layer line charts and the histogram heat map's PNG)."""
from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np

from nets.charts.dynamics import LIVE_LAYERS, heat_png, layer_lines, picked
from nets.engine.bins import BINS
from nets.engine.stats import PER_RECORD, PER_SITE, Dynamics
from nets.plots import LIVE_POINTS, by_epoch, epochs_frame, loss_points_frame, loss_vs_images


def fake_run(epochs: int, points: int) -> tuple[list[tuple[int, float]], list[dict]]:
    """A run's history as the job keeps it: (images seen, loss) points and EpochEnd dicts."""
    loss = [(64 * (i + 1), 2.3 * math.exp(-i / 60) + 0.05 * math.sin(i)) for i in range(points)]
    history = [{"epoch": e, "train_loss": 1 / e, "train_acc": 1 - 0.5 / e, "test_loss": 1.1 / e,
                "test_acc": 1 - 0.55 / e, "val_loss": None, "val_acc": None} for e in range(1, epochs + 1)]
    return loss, history


def fake_dynamics(records: int, hist_rows: int, layers: int = 10) -> Dynamics:
    """A live copy of a 10-layer MLP's statistics (as JobView.dynamics holds them: at most 240
    records and 48 histogram rows), gradients shrinking layer by layer."""
    rng = np.random.default_rng(0)
    names = [f"fc{i + 1}" for i in range(layers)]
    step = np.arange(1, records + 1) * 5
    grad = np.logspace(-8, 0, layers)[None] * rng.uniform(0.5, 2, (records, layers))
    counts = rng.integers(0, 500, (hist_rows, layers, BINS)).astype(np.uint32)
    per_record = {k: np.zeros(records) for k in PER_RECORD if k != "step"}
    per_site = {k: np.full((records, layers - 1), 0.5) for k in PER_SITE}
    return Dynamics(every=5, window=4, layers=names, layer_kinds=["linear"] * layers, sites=names[:-1],
                    site_kinds=["sigmoid"] * (layers - 1), step=step, **per_record, **per_site,
                    weight_norm=np.ones((records, layers)), grad_norm=grad, update_norm=grad * 0.01,
                    hist_step=step[np.linspace(0, records - 1, hist_rows).astype(int)],
                    hist_weight=counts, hist_grad=counts, hist_act=counts[:, 1:])


def inside_redraw(d: Dynamics) -> tuple[int, int]:
    """One redraw of the Inside charts as the Train page draws them; (chart JSON bytes, PNG bytes)."""
    charts = [layer_lines(d, "gradient norm", "Gradient norm per layer, by step"),
              layer_lines(d, "update ratio", "Update ratio per layer, by step")]
    png = heat_png(d, "gradients", layers=picked(d.layers, LIVE_LAYERS), width=900)
    return sum(len(c.to_json()) for c in charts), len(png)


def redraw(loss, history) -> int:
    """One redraw of the live charts; returns the bytes sent."""
    charts = [loss_vs_images(loss_points_frame(loss, max_points=LIVE_POINTS), title="Training loss"),
              by_epoch(epochs_frame(history, "loss"), "loss", "Loss by epoch"),
              by_epoch(epochs_frame(history, "accuracy"), "accuracy", "Accuracy by epoch")]
    return sum(len(c.to_json()) for c in charts)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--repeats", type=int, default=50)
    args = p.parse_args(argv)
    for label, epochs, points in (("first epoch", 0, 40), ("epoch 20 of a long run", 20, 5000)):
        loss, history = fake_run(epochs, points)
        redraw(loss, history)  # warm-up: Altair's first chart loads its schema
        times, size = [], 0
        for _ in range(args.repeats):
            t = time.perf_counter()
            size = redraw(loss, history)
            times.append(time.perf_counter() - t)
        print(f"{label}: one redraw of the three live charts {1000 * statistics.median(times):.1f} ms "
              f"(median of {args.repeats}), {size / 1024:.0f} KB of chart JSON")
    for label, records, rows in (("first statistics", 3, 3), ("late in a run (the live copy full)", 240, 48)):
        d = fake_dynamics(records, rows)
        inside_redraw(d)
        times, sizes = [], (0, 0)
        for _ in range(args.repeats):
            t = time.perf_counter()
            sizes = inside_redraw(d)
            times.append(time.perf_counter() - t)
        print(f"Inside the network, {label}: one redraw of the two line charts and the heat map "
              f"{1000 * statistics.median(times):.1f} ms, {sizes[0] / 1024:.0f} KB of chart JSON + "
              f"{sizes[1] / 1024:.0f} KB of PNG")

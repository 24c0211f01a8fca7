"""`python -m nets charts`: the server's cost of one redraw of the Train page's live charts
(frames, the three Altair charts and their JSON, which is what Streamlit sends), early and late in a run."""
from __future__ import annotations

import argparse
import math
import statistics
import time

from nets.plots import LIVE_POINTS, by_epoch, epochs_frame, loss_points_frame, loss_vs_images


def fake_run(epochs: int, points: int) -> tuple[list[tuple[int, float]], list[dict]]:
    """A run's history as the job keeps it: (images seen, loss) points and EpochEnd dicts."""
    loss = [(64 * (i + 1), 2.3 * math.exp(-i / 60) + 0.05 * math.sin(i)) for i in range(points)]
    history = [{"epoch": e, "train_loss": 1 / e, "train_acc": 1 - 0.5 / e, "test_loss": 1.1 / e,
                "test_acc": 1 - 0.55 / e, "val_loss": None, "val_acc": None} for e in range(1, epochs + 1)]
    return loss, history


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

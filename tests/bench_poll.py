"""What a page's poll of the job service costs: one view() and one views() of a finished tiny job, in
microseconds, for one or more checkouts of the app, alternated (each in its own process). To compare
the job service before and after a change:

    git worktree add /tmp/before <commit> && python tests/bench_poll.py /tmp/before . --rounds 2
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CALLS = 2000


def measure(root: str) -> None:
    """In the checkout `root`: train a tiny job with the thread backend, then time the polls (best of 5)."""
    sys.path.insert(0, root)
    os.chdir(root)
    os.environ.setdefault("NNLAB_DATA_DIR", os.path.join(root, "data-test-unused"))
    from nets.engine.config import TrainConfig
    from nets.server.jobs import JobManager
    with tempfile.TemporaryDirectory() as tmp:
        manager = JobManager(tmp, backend="thread")
        job = manager.submit(TrainConfig(model="mlp", hidden=(16,), train_per_class=20, epochs=3, batch_size=16,
                                         log_every=1))
        view = manager.wait(job.id, timeout=300)
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(CALLS):
                manager.view(job.id)
                manager.views()
            best = min(best, (time.perf_counter() - start) / CALLS)
        manager.close()
    print(f"{best * 1e6:.1f} µs per view() + views() ({view.status}, {len(view.loss_points)} loss points)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("roots", nargs="+", help="checkouts of the app to compare")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a child: measure roots[0]
    args = ap.parse_args()
    if args.one:
        measure(str(Path(args.roots[0]).resolve()))
        return
    for r in range(args.rounds):
        for root in args.roots:
            out = subprocess.run([sys.executable, __file__, "--one", root], capture_output=True, text=True)
            print(f"round {r + 1}  {root:24s} {(out.stdout.strip().splitlines() or [out.stderr[-300:]])[-1]}")


if __name__ == "__main__":
    main()

"""Page script time while jobs train: worker processes against threads of the web server.

    python tests/bench_pages.py [--repeats 5] [--pages home,runs,train]

For 0, 1 and 2 running jobs and each backend in turn (alternating), opens each page with AppTest in
this process (as the server runs a session's script) and takes the median script time; prints each
against the idle time. Jobs are MLPs on the bundled digits, long enough to outlast the measurement.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from nets.engine.config import TrainConfig  # noqa: E402

PAGES = {"home": "pages/home.py", "runs": "pages/runs.py", "train": "pages/train.py"}
LONG = TrainConfig(model="mlp", hidden=(256, 128), train_per_class=200, epochs=10_000, batch_size=32,
                   log_every=10)


def page_time(at: AppTest, page: str, repeats: int) -> float:
    times = []
    for _ in range(repeats + 1):
        t = time.perf_counter()
        at.switch_page(page).run()
        times.append(time.perf_counter() - t)
        assert not at.exception, at.exception
    return statistics.median(times[1:])  # the first view of a page warms its imports


def manager_for(backend: str):
    os.environ["NNLAB_JOB_BACKEND"] = backend
    from pages._service import job_manager
    return job_manager()


def measure(backend: str, jobs: int, pages: list[str], repeats: int) -> dict[str, float]:
    manager = manager_for(backend)
    running = [manager.submit(LONG, owner=f"bench-{i}") for i in range(jobs)]
    deadline = time.time() + 120
    while any(not (v := manager.view(j.id)).progress or v.status != "running" for j in running):
        assert time.time() < deadline, "the jobs did not start"
        time.sleep(0.1)
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    try:
        return {p: page_time(at, PAGES[p], repeats) for p in pages}
    finally:
        for j in running:
            manager.stop(j.id)
        for j in running:
            manager.wait(j.id, timeout=60)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--rounds", type=int, default=2, help="alternations of the two backends")
    p.add_argument("--pages", default="home,runs,train")
    p.add_argument("--runs", type=int, default=20, help="saved runs in the checkpoints folder")
    args = p.parse_args()
    pages = args.pages.split(",")
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(NNLAB_CHECKPOINTS=tmp, NNLAB_MAX_JOBS="2", NNLAB_JOBS_PER_SESSION="2",
                          NNLAB_WORKER_THREADS="1", NNLAB_TORCH_THREADS="1")
        from nets.experiment import run_training
        for i in range(args.runs):  # saved runs, so that Home and Runs have tables to draw
            run_training(TrainConfig(model="mlp", hidden=(16,), train_per_class=10, epochs=2, seed=i,
                                     name=f"saved {i}"), checkpoints=tmp)
        results: dict[tuple, list] = {}
        for _ in range(args.rounds):
            for jobs in (0, 1, 2):
                for backend in ("thread", "process"):
                    for page, t in measure(backend, jobs, pages, args.repeats).items():
                        results.setdefault((backend, jobs, page), []).append(t)
        print(f"page script time (median of {args.repeats} views × {args.rounds} rounds; "
              f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})")
        for backend in ("thread", "process"):
            for page in pages:
                idle = statistics.median(results[(backend, 0, page)])
                cells = [f"{n} job{'s' if n != 1 else ''} {statistics.median(results[(backend, n, page)]):.3f} s "
                         f"({statistics.median(results[(backend, n, page)]) / idle:.2f}×)" for n in (1, 2)]
                print(f"  {backend:7} {page:6} idle {idle:.3f} s · " + " · ".join(cells))


if __name__ == "__main__":
    main()

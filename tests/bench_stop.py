"""How long Stop takes to end a job (issue 19): stuck in a 10-minute data load, stuck in a 10-minute
step after an epoch (the worker is ended and replaced after NNLAB_STOP_GRACE_S, 1.5 s), and training
normally (Stop between batches); process backend, job cap 1, 3 of each. Prints the latencies:

    python tests/bench_stop.py
"""
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nets.engine.config import TrainConfig  # noqa: E402
from nets.server.jobs import JobManager  # noqa: E402

LONG = TrainConfig(model="mlp", hidden=(16,), train_per_class=20, epochs=10_000, log_every=1)
HOOKS = ("NNLAB_TEST_SLOW_LOAD_S", "NNLAB_TEST_SLOW_EPOCH_S")  # test-only slowness, read by the worker


def reached(view, where: str | None) -> bool:
    if where == "NNLAB_TEST_SLOW_LOAD_S":
        return (view.phase or "").startswith("Loading the data (slowly")
    return bool(view.epochs)


def main(repeats: int = 3) -> None:
    for where in (*HOOKS, None):
        for hook in HOOKS:
            os.environ.pop(hook, None)
        if where:
            os.environ[where] = "600"
        jobs = JobManager(tempfile.mkdtemp(prefix="bench-stop-"), backend="process")
        times = []
        for _ in range(repeats):
            job = jobs.submit(LONG)
            while not reached(jobs.view(job.id), where):
                time.sleep(0.02)
            time.sleep(0.3 if where else 0)  # well inside the slow part
            start = time.perf_counter()
            jobs.stop(job.id)
            view = jobs.wait(job.id, timeout=60)
            times.append(time.perf_counter() - start)
            assert view.status == "stopped", view.status
        label = {"NNLAB_TEST_SLOW_LOAD_S": "inside a long data load", "NNLAB_TEST_SLOW_EPOCH_S": "inside a long step",
                 None: "between batches"}[where]
        print(f"{label}: Stop → job ended in {', '.join(f'{t:.2f}' for t in times)} s", flush=True)
        jobs.close()


if __name__ == "__main__":
    main()

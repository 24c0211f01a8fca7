"""Jobs through a local Ray (nets.server.ray_jobs) against the worker processes (nets.server.pool).

    python tests/bench_ray.py [--cold 3] [--warm 5] [--rounds 4]

Latency: from submit until the page could show the first progress (a BatchProgress in the job's
view; the job is then stopped), cold (a fresh Ray or a fresh pool: workers start, import torch, load the data) and warm (the
next jobs). Throughput: one job's images/s as its summary reports it, the two backends alternating
(A B A B) after a warm-up job each, medians. Both train with one torch thread (one CPU per job).
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("NNLAB_WORKER_THREADS", "1")  # the process backend's threads = Ray's one CPU per job

import ray  # noqa: E402

from nets.engine.config import TrainConfig  # noqa: E402
from nets.server.jobs import JobManager  # noqa: E402
from nets.server.ray_jobs import RayJobs  # noqa: E402

# Long enough to be training when its first progress shows (a job that ends in 10 ms would measure its end)
FIRST = TrainConfig(model="mlp", hidden=(16,), train_per_class=20, epochs=1000, batch_size=32, log_every=1)
WORK = TrainConfig(model="mlp", hidden=(256, 128), train_per_class=200, epochs=4, batch_size=32, log_every=10)


def first_progress(jobs) -> float:
    t = time.perf_counter()
    job = jobs.submit(FIRST)
    while (v := jobs.view(job.id)).progress is None and v.active:
        time.sleep(0.005)
    seconds = time.perf_counter() - t
    jobs.stop(job.id)
    assert jobs.wait(job.id).status == "stopped"
    return seconds


def images_per_s(jobs) -> float:
    view = jobs.wait(jobs.submit(WORK).id, timeout=600)
    assert view.status == "completed", view.error
    return view.summary["images_per_s"]


def start_ray():
    t = time.perf_counter()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cold", type=int, default=3)
    ap.add_argument("--warm", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    med = statistics.median

    cold = {"ray": [], "process": []}
    starts, services = [], []
    for i in range(args.cold):
        starts.append(start_ray())
        t = time.perf_counter()
        jobs = RayJobs(root / f"cold-ray-{i}", max_running=1, name=f"bench-{i}")
        services.append(time.perf_counter() - t)
        cold["ray"].append(first_progress(jobs))
        jobs.shutdown()
        ray.shutdown()
        manager = JobManager(root / f"cold-process-{i}", max_running=1, backend="process")
        cold["process"].append(first_progress(manager))
        manager.close()

    start_ray()
    backends = {"ray": RayJobs(root / "ray", max_running=1, name="bench"),
                "process": JobManager(root / "process", max_running=1, backend="process")}
    warm = {name: [first_progress(jobs) for _ in range(args.warm + 1)][1:] for name, jobs in backends.items()}
    speed = {name: [] for name in backends}
    for jobs in backends.values():
        images_per_s(jobs)  # warm-up: the bigger model's first job
    for _ in range(args.rounds):
        for name, jobs in backends.items():  # A B A B
            speed[name].append(images_per_s(jobs))
    backends["ray"].shutdown()
    backends["process"].close()
    ray.shutdown()

    print(f"local Ray start (ray.init, 2 CPUs): median {med(starts):.2f} s of {len(starts)}; "
          f"job service actor created: {med(services):.2f} s")
    print("submit -> first progress   cold (median)        warm (median)")
    for name in backends:
        print(f"  {name:8s}                 {med(cold[name]):6.2f} s  (n={len(cold[name])})   "
              f"{med(warm[name]) * 1000:6.0f} ms (n={len(warm[name])})")
    print(f"images/s of {WORK.label()}, {WORK.epochs} epochs, one thread, A B A B x{args.rounds}:")
    for name in backends:
        print(f"  {name:8s} median {med(speed[name]):8.0f}   runs {', '.join(f'{s:.0f}' for s in speed[name])}")
    print(f"  ray / process: {med(speed['ray']) / med(speed['process']):.2f}")


if __name__ == "__main__":
    main()

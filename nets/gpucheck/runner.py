"""The GPU check from start to end: every case trained through the worker processes (and Ray), then the stop, one-worker-per-GPU and out-of-memory checks; the rows and verdicts."""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field, replace

import torch

from nets.gpucheck import checks, compare, plan, services
from nets.gpucheck.checks import Check, failed, skipped, verdict
from nets.gpucheck.jobs import Row, probe, row_of, train, watch

NO_CUDA = "no CUDA GPU here"


@dataclass
class Options:
    quick: bool = False
    archs: tuple[str, ...] = plan.ARCHS
    ray: bool = True
    dataset: str = "fashion-mnist-mini"
    steps: int | None = None      # per job (default: plan.Sizes)
    job_timeout: float = 240.0    # seconds before a job is stopped and counted as failed


@dataclass
class Result:
    device: str                   # its name: the GPU's model, or "CPU (n threads)"
    device_type: str              # cuda, mps or cpu
    gpus: int
    rows: list[Row] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"device": self.device, "device_type": self.device_type, "gpus": self.gpus,
                "seconds": round(self.seconds, 1), "exit_code": checks.exit_code(self.checks),
                "rows": [r.to_dict() for r in self.rows], "checks": [c.to_dict() for c in self.checks]}


class CheckRun:
    """One run of the check: its device, folders, options, and what it has found so far."""

    def __init__(self, options: Options, say=print):
        from nets.engine.device import device_name, pick_device
        from nets.experiment import prepare_data
        from nets.engine.config import TrainConfig
        self.o, started = options, time.perf_counter()
        self.say = lambda line: say(f"[{time.perf_counter() - started:5.1f} s] {line}")
        self.device = pick_device("auto")
        self.result = Result(device_name(self.device), self.device.type, torch.cuda.device_count())
        # without a GPU every job trains at --quick's size: 300 steps of ResNet-18 take a CPU the better part of an hour
        self.sizes = plan.Sizes.pick(options.quick or self.device.type != "cuda", options.steps)
        self.data = prepare_data(TrainConfig(dataset=options.dataset))
        self.batch = compare.fixed_batch(self.data)
        self.folder = tempfile.mkdtemp(prefix="nnlab-gpu-check-")
        self.data_dir = None

    def add(self, *found: Check) -> None:
        self.result.checks.extend(found)

    def config(self, arch: str, setting) -> object:
        return plan.config(arch, setting, self.sizes, self.o.dataset, len(self.data.x_train))

    # ------------------------------------------------------------------ one training job
    def job(self, service, manager, case: plan.Case, before: dict | None) -> dict | None:
        """Train the case, probe its worker (worker processes only), judge it; returns the probe."""
        self.say(f"  {case.label} …")
        watched = train(service, self.config(case.arch, case.setting), self.o.job_timeout)
        after = probe(manager)[0] if manager is not None else None
        row = row_of(case.service, case.arch, case.setting.name, watched, after)
        self.result.rows.append(row)
        v, subject = watched.view, case.label
        ok = row.status == "completed" and not watched.timed_out
        why = f"{row.status} in {row.seconds:.1f} s" + (f": {v.error}" if getattr(v, "error", None) else "") + \
            (f" (stopped after {self.o.job_timeout:.0f} s)" if watched.timed_out else "")
        self.add(verdict(ok, "trained through the job service", subject, why))
        if not ok:
            return after
        dev = row.device.split(":")[0]
        self.add(verdict(dev == self.device.type, "trained on the device", subject, f"on {row.device or '?'}"))
        falls, words = checks.losses_fall(v.loss_points)
        self.add(verdict(falls, "losses fall", subject, words + f"; test accuracy {row.test_acc or 0:.1%}"))
        self.reference(case, v.summary["run_id"])
        if manager is None:
            self.add(skipped("memory released when a job ends", subject,
                             "Ray reuses or replaces its workers: probed through the worker processes"))
        else:
            self.memory("memory released when a job ends", subject, before, after)
        return after

    def reference(self, case: plan.Case, run_id: str) -> None:
        kind = "matches a CPU reference on a fixed batch"
        if self.device.type == "cpu" and not case.setting.channels_last:
            self.add(skipped(kind, case.label, "the device is the CPU: float32 on it is the reference"))
            return
        from nets.runs import get_run, load_model
        try:
            model = load_model(get_run(self.folder, run_id))
            x, y = self.batch
            found = compare.against_cpu(model, x, y, self.device, case.setting.amp, case.setting.channels_last)
        except Exception as e:  # noqa: BLE001 - a run that cannot be read back, a device error: this case fails
            self.add(failed(kind, case.label, f"{type(e).__name__}: {e}"))
            return
        self.add(verdict(found.ok, kind, case.label, found.text()))

    def memory(self, kind: str, subject: str, before: dict | None, after: dict | None) -> None:
        ok, words = checks.memory_released(before, after)
        self.add(skipped(kind, subject, NO_CUDA) if ok is None else verdict(ok, kind, subject, words))

    # ------------------------------------------------------------------ the parts
    def process_jobs(self, cases: list[plan.Case]) -> None:
        """Every case through JobManager's worker processes (one worker: each job's memory is probed in
        the worker that trained it), then a job stopped at its first live point."""
        self.say("Worker processes (JobManager, backend 'process'):")
        manager = services.workers(self.folder, self.data_dir)
        try:
            before = probe(manager)[0]
            if cases:
                self.warm_up(manager, cases[0])
                probe(manager)  # its peak is not the first row's
            for case in cases:
                self.job(manager, manager, case, before)
            arch = next((c.arch for c in cases), self.o.archs[0])
            cfg = plan.long_config(self.config(arch, next(c.setting for c in cases)))
            self.say(f"  {arch}, stopped at its first live point …")
            watched = train(manager, cfg, self.o.job_timeout, stop_after_first=True)
            status = getattr(watched.view, "status", "lost")
            self.add(verdict(status == "stopped", "a stopped job ends stopped", arch,
                             f"{status}, first live point after {watched.first_point_s or 0:.2f} s"))
            self.memory("memory released when a job is stopped", arch, before, probe(manager)[0])
            died = manager.restarts()
            self.add(verdict(died == 0, "no worker died", "worker processes", f"{died} replaced"))
        finally:
            manager.close()

    def warm_up(self, service, case: plan.Case) -> None:
        """A fresh worker's first job (one epoch): its start-up (imports, data, first steps) in words, kept
        out of the table so that each row measures a warm worker."""
        self.say(f"  warm-up: {case.arch} {case.setting.name}, a fresh worker's first job …")
        cfg = replace(self.config(case.arch, case.setting), epochs=1, name=f"gpu-check warm-up {case.arch}")
        w = train(service, cfg, self.o.job_timeout)
        row = row_of(case.service, case.arch, case.setting.name, w, None)
        self.add(verdict(row.status == "completed", "a fresh worker's first job", case.label,
                         f"{row.status}, first live point after {w.first_point_s or 0:.2f} s, "
                         f"{row.images_per_s or 0:,.0f} images/s (the table's jobs come after it)"))

    def ray_jobs(self, cases: list[plan.Case]) -> None:
        self.say("Ray (RayJobs on a local cluster):")
        cluster = services.LocalRay(self.folder, self.data_dir, min(4, os.cpu_count() or 1), self.result.gpus)
        try:
            if cases:
                self.warm_up(cluster.jobs, cases[0])
            for case in cases:
                self.job(cluster.jobs, None, case, None)
        finally:
            cluster.close()

    def spread(self) -> None:
        kind, gpus = "one worker per GPU", self.result.gpus
        if gpus < 2:
            self.add(skipped(kind, "worker processes", NO_CUDA if gpus == 0 else "one GPU: nothing to spread"))
            return
        self.say(f"{gpus} workers for {gpus} GPUs:")
        manager = services.workers(self.folder, self.data_dir, size=gpus)
        try:
            probes = probe(manager, count=gpus, hold_s=2.0)
        finally:
            manager.close()
        ok, words = checks.one_worker_per_gpu(probes, gpus)
        self.add(verdict(ok, kind, f"{gpus} GPUs", words))

    def out_of_memory(self, arch: str) -> None:
        kind = "an out-of-memory job fails alone"
        if self.device.type != "cuda":
            self.add(skipped(kind, "a real one", f"{NO_CUDA}: on the CPU an absurd batch swaps or is killed; "
                                                 "tests/test_faults.py checks the message"))
            return
        self.say("An out-of-memory job beside a normal one (two workers, no budget):")
        manager = services.workers(self.folder, self.data_dir, size=2, limits=False)
        try:
            # the job beside it first, until it trains (its memory taken), then the one no GPU holds
            normal = manager.submit(plan.long_config(self.config(arch, plan.BY_NAME["fp32"])), owner="")
            watch(manager, normal.id, self.o.job_timeout, until_first=True)
            doomed = manager.submit(plan.oom_config(self.o.dataset), owner="")
            oom_view = manager.wait(doomed.id, self.o.job_timeout)
            seen = _images_seen(manager.view(normal.id))
            time.sleep(1.0)
            went_on = _images_seen(manager.view(normal.id)) > seen
            manager.stop(normal.id)
            other = manager.wait(normal.id, self.o.job_timeout)
            ok, words = checks.oom_alone(oom_view, other.status, went_on, manager.restarts())
            cfg = plan.oom_config(self.o.dataset)
            self.add(verdict(ok, kind, f"30 convolutions of 512 channels, batch {cfg.batch_size}", words))
            for i, after in enumerate(probe(manager, count=2, hold_s=1.0)):
                self.memory("memory released after the out-of-memory job", f"worker {i + 1} of 2", None, after)
        finally:
            manager.close()

    def run(self) -> Result:
        t0 = time.perf_counter()
        o = self.o
        chosen, skips = plan.settings_for(self.device.type, o.quick)
        why_not_ray = "--no-ray" if not o.ray else services.ray_missing()
        ray_archs = o.archs[:1] if o.quick else o.archs
        cases, case_skips = plan.cases(o.archs, chosen, ["process"] + ([] if why_not_ray else ["ray"]), ray_archs)
        if not o.quick and self.device.type != "cuda":
            skips.append(plan.Skip(f"full-size jobs ({plan.Sizes.pick(False).steps} steps on every image)",
                                   f"no GPU: each job trains {self.sizes.steps} steps on {self.sizes.per_class} "
                                   "images per class, as with --quick"))
        for s in [*skips, *case_skips, plan.IMAGENET_SKIP]:
            self.add(skipped("cases not run", s.name, s.why))
        if why_not_ray:
            self.add(skipped("jobs through Ray", "RayJobs on a local cluster", why_not_ray))
        parts = [("worker processes", lambda: self.process_jobs([c for c in cases if c.service == "process"])),
                 ("one worker per GPU", self.spread), ("out of memory", lambda: self.out_of_memory(o.archs[0]))]
        if not why_not_ray:
            parts.append(("Ray", lambda: self.ray_jobs([c for c in cases if c.service == "ray"])))
        try:
            for name, part in parts:
                try:
                    part()
                except Exception as e:  # noqa: BLE001 - reported as a failure; the other parts still run
                    self.add(failed("each part of the check ran to its end", name, f"{type(e).__name__}: {e}"))
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
        self.result.seconds = time.perf_counter() - t0
        return self.result


def _images_seen(view) -> int:
    """The images a training job had seen at its latest live point (0 before its first)."""
    points = getattr(view, "loss_points", None)
    return points[-1][0] if points else 0


def run_check(options: Options, say=print) -> Result:
    """The whole check on whatever device is present; `say` hears what it is doing."""
    return CheckRun(options, say).run()

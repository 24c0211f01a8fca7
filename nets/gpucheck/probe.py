"""A job that reports its worker's memory (torch.cuda.memory_allocated, the peak since the last probe, resident memory), run between the check's jobs."""
from __future__ import annotations

import gc
import os
import resource
import threading
from dataclasses import dataclass

from nets.status import Status
from nets.work import GPU_SMALL, WORK_KEY, JobFields, RunlessWork, class_path

MB = 2 ** 20


def memory_now(reset_peak: bool = True) -> dict:
    """This process's memory: its CUDA tensors at their peak since the last reset (then reset), now as it
    holds them (held_mb) and with cuBLAS's workspaces let go (allocated_mb, what a leak would show), and
    its peak resident memory; where it runs (pid, CUDA_VISIBLE_DEVICES, the GPUs it sees)."""
    import torch
    out = {"pid": os.getpid(), "visible": os.environ.get("CUDA_VISIBLE_DEVICES", ""), "cuda": torch.cuda.is_available(),
           "gpus": torch.cuda.device_count(), "rss_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    if out["cuda"]:
        out.update(held_mb=torch.cuda.memory_allocated() / MB, peak_mb=torch.cuda.max_memory_allocated() / MB)
        if torch.cuda.is_initialized():  # as PyTorch's own leak check: cuBLAS's workspaces are no job's tensors
            gc.collect()
            clear = getattr(torch._C, "_cuda_clearCublasWorkspaces", None)
            if clear is not None:
                clear()
            torch.cuda.empty_cache()
        out.update(allocated_mb=torch.cuda.memory_allocated() / MB, reserved_mb=torch.cuda.memory_reserved() / MB)
        if reset_peak and torch.cuda.is_initialized():
            torch.cuda.reset_peak_memory_stats()
    return out


class ProbeTracker:
    """A probe has no messages of its own: its view is the job's fields, its numbers in the summary."""

    def apply(self, message: dict) -> None:
        pass

    def view(self, common: dict) -> JobFields:
        return JobFields(**common)


@dataclass
class MemoryProbe(RunlessWork):
    """Reports memory_now() as its summary, after holding its worker `hold_s` seconds (so that probes
    submitted together land on different workers)."""
    hold_s: float = 0.0
    kind = "gpu-check-probe"
    refusal = ValueError

    def label(self) -> str:
        return "gpu-check memory probe"

    def spec(self) -> dict:
        return {WORK_KEY: class_path(self), "hold_s": self.hold_s}

    @classmethod
    def from_spec(cls, spec: dict) -> MemoryProbe:
        return cls(float(spec.get("hold_s", 0.0)))

    def tracker(self) -> ProbeTracker:
        return ProbeTracker()

    def check(self, service) -> None:
        pass

    def run(self, emit, stop: threading.Event, cache, own_process: bool = False) -> dict:
        if self.hold_s:
            stop.wait(self.hold_s)
        return {"status": Status.COMPLETED, "summary": memory_now()}

    def resources(self, cluster_gpus: float, cpus_per_job: float) -> dict:
        return {"num_cpus": cpus_per_job, "num_gpus": GPU_SMALL if cluster_gpus > 0 else 0.0}

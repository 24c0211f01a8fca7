"""The GPU check's verdicts: a Check (passed, failed or skipped, and why), and the rules that decide them from what the jobs reported."""
from __future__ import annotations

from dataclasses import asdict, dataclass

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
RELEASED_MB = 8.0    # CUDA tensors a worker may still hold after a job, over what it held before any
LOSS_DROP = 0.9      # the mean of the last live points must be below this share of the first's


@dataclass(frozen=True)
class Check:
    """One verdict: `kind` groups them in the list ("losses fall"), `subject` says of what ("lenet amp (process)")."""
    kind: str
    subject: str
    status: str
    detail: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def passed(kind: str, subject: str, detail: str = "") -> Check:
    return Check(kind, subject, PASSED, detail)


def failed(kind: str, subject: str, detail: str) -> Check:
    return Check(kind, subject, FAILED, detail)


def skipped(kind: str, subject: str, why: str) -> Check:
    return Check(kind, subject, SKIPPED, why)


def verdict(ok: bool, kind: str, subject: str, detail: str) -> Check:
    return Check(kind, subject, PASSED if ok else FAILED, detail)


def exit_code(checks: list[Check]) -> int:
    """1 when any check failed (or none ran at all), else 0; skipped ones do not fail the command."""
    return 1 if any(c.status == FAILED for c in checks) or not any(c.status == PASSED for c in checks) else 0


def losses_fall(points: list[tuple[int, float]], ratio: float = LOSS_DROP) -> tuple[bool, str]:
    """Whether the training loss fell: the mean of the last third of the live points (images seen, loss)
    below `ratio` × the first point; with the numbers in words."""
    losses = [float(loss) for _, loss in points]
    if len(losses) < 2:
        return False, f"only {len(losses)} live point(s)"
    if any(loss != loss or loss in (float("inf"), float("-inf")) for loss in losses):
        return False, "a loss that is not a number"
    tail = losses[-max(1, len(losses) // 3):]
    last = sum(tail) / len(tail)
    return last < ratio * losses[0], f"{losses[0]:.3f} → {last:.3f} over {len(losses)} live points"


def memory_released(before: dict | None, after: dict | None, slack_mb: float = RELEASED_MB) -> tuple[bool | None, str]:
    """Whether a worker's CUDA tensors went back to what it held before its jobs (two memory probes,
    nets.gpucheck.probe); None when there is no CUDA memory to look at."""
    if not after or not after.get("cuda"):
        return None, "no CUDA in the worker"
    base = (before or {}).get("allocated_mb", 0.0)
    held = after["allocated_mb"] - base
    where = "" if not before or before.get("pid") == after.get("pid") else " (in a replaced worker)"
    return held <= slack_mb, (f"{after['allocated_mb']:.1f} MB allocated after, {base:.1f} MB before{where} "
                              f"(allowed: {slack_mb:g} MB more)")


def one_worker_per_gpu(probes: list[dict], gpus: int) -> tuple[bool, str]:
    """Probes that ran at once on `gpus` workers: each worker saw one GPU, and each GPU had one worker."""
    visible = sorted(p.get("visible", "") for p in probes)
    pids = {p.get("pid") for p in probes}
    ok = (len(probes) == gpus and len(pids) == gpus and visible == sorted(str(i) for i in range(gpus))
          and all(p.get("gpus") == 1 for p in probes))
    return ok, f"{len(pids)} worker(s) saw CUDA_VISIBLE_DEVICES {', '.join(v or '(unset)' for v in visible)}"


def oom_alone(oom_view, other_status: str, went_on: bool, restarts: int) -> tuple[bool, str]:
    """The out-of-memory job failed with the app's plain message, the job training beside it went on
    (new live points after the failure, then stopped by the check or completed), and no worker died."""
    error = (getattr(oom_view, "error", None) or "").strip()
    plain = error.startswith("Out of GPU memory") and "Traceback" not in error
    ok = (getattr(oom_view, "status", None) == "failed" and plain and went_on
          and other_status in ("stopped", "completed") and restarts == 0)
    first = error.splitlines()[0][:120] if error else "(no error)"
    return ok, (f"out-of-memory job {getattr(oom_view, 'status', '?')}: {first!r}; the job beside it "
                f"{'went on' if went_on else 'did not go on'} and ended {other_status}; {restarts} worker(s) died")

"""`python -m nets gpu-check` (nets/gpucheck): its CPU path end to end through the real worker processes,
the table and the list of skipped checks, the exit code when a check fails, and its rules on
constructed numbers (the CPU-reference tolerance, falling losses, released memory, one worker per GPU,
an out-of-memory job that fails alone)."""
import json
import shutil
from types import SimpleNamespace

import pytest
import torch

from nets.gpucheck import checks, plan
from nets.gpucheck.checks import Check, exit_code
from nets.gpucheck.compare import TOLERANCE, agree, relative_error
from nets.gpucheck.jobs import Row
from nets.gpucheck.report import check_list, table
from nets.gpucheck.runner import Result


# ------------------------------------------------------------------ the tolerance, on constructed tensors
def test_the_error_is_relative_to_the_references_scale():
    ref = torch.tensor([[10.0, -4.0, 0.5]])
    assert relative_error(ref.clone(), ref) == 0.0
    assert relative_error(ref + 0.05, ref) == pytest.approx(0.005, rel=1e-4)          # 0.05 of a largest |value| of 10
    small = torch.tensor([[0.1, -0.2]])
    assert relative_error(small + 0.01, small) == pytest.approx(0.01, rel=1e-4)       # absolute below a scale of 1
    assert relative_error(torch.tensor([[float("nan"), 0.0]]), small) == float("inf")
    with pytest.raises(ValueError, match="shapes differ"):
        relative_error(ref, small)


def test_half_precision_is_allowed_more_than_float32():
    ref = torch.tensor([[10.0, -4.0, 0.5], [1.0, 2.0, 3.0]])
    loss = torch.tensor(1.2)
    near = agree(ref + 0.05, loss + 0.005, ref, loss, torch.float32)
    assert near.ok and near.dtype == "float32" and near.same_top1 == 1.0 and "tolerance 1e-02" in near.text()
    off = ref + 0.2  # 2 % of the scale: beyond float32's allowance, within float16's and bfloat16's
    assert not agree(off, loss, ref, loss, torch.float32).ok
    assert agree(off, loss, ref, loss, torch.float16).ok and agree(off, loss, ref, loss, torch.bfloat16).ok
    assert not agree(ref, loss + 0.1, ref, loss, torch.float16).ok         # the loss is checked too
    assert TOLERANCE[torch.float32] < TOLERANCE[torch.float16] < TOLERANCE[torch.bfloat16]
    swapped = agree(ref[:, [1, 0, 2]], loss, ref, loss)
    assert swapped.same_top1 == 0.5 and not swapped.ok


# ------------------------------------------------------------------ the rules
def test_losses_fall_compares_the_last_third_with_the_first_point():
    assert checks.losses_fall([(0, 2.3), (10, 1.5), (20, 1.0), (30, 0.8)])[0]
    ok, words = checks.losses_fall([(0, 2.3), (10, 2.3), (20, 2.25)])
    assert not ok and "2.300 → 2.250 over 3 live points" in words
    assert checks.losses_fall([(0, 2.3)]) == (False, "only 1 live point(s)")
    assert not checks.losses_fall([(0, 2.3), (1, float("nan"))])[0]


def test_memory_released_against_the_workers_memory_before_its_jobs():
    before = {"pid": 7, "cuda": True, "allocated_mb": 2.0}
    assert checks.memory_released(before, {"pid": 7, "cuda": True, "allocated_mb": 10.0})[0]
    ok, words = checks.memory_released(before, {"pid": 7, "cuda": True, "allocated_mb": 500.0})
    assert not ok and "500.0 MB allocated after, 2.0 MB before" in words
    assert "replaced" in checks.memory_released(before, {"pid": 8, "cuda": True, "allocated_mb": 0.0})[1]
    assert checks.memory_released(before, {"pid": 7, "cuda": False})[0] is None  # nothing to measure: a skip


def test_one_worker_per_gpu_and_the_out_of_memory_verdict():
    spread = [{"pid": 1, "visible": "0", "gpus": 1}, {"pid": 2, "visible": "1", "gpus": 1}]
    assert checks.one_worker_per_gpu(spread, 2)[0]
    assert not checks.one_worker_per_gpu([{**spread[0]}, {**spread[1], "visible": "0"}], 2)[0]
    assert not checks.one_worker_per_gpu([{**p, "gpus": 2, "visible": ""} for p in spread], 2)[0]
    oom = SimpleNamespace(status="failed", error="Out of GPU memory (CUDA out of memory). Try a smaller batch size")
    ok, words = checks.oom_alone(oom, "stopped", True, 0)
    assert ok and "the job beside it went on and ended stopped; 0 worker(s) died" in words
    assert not checks.oom_alone(oom, "stopped", True, 1)[0]   # a worker died
    assert not checks.oom_alone(oom, "failed", True, 0)[0]    # it took the other job along
    assert not checks.oom_alone(oom, "stopped", False, 0)[0]  # ... or stalled it
    assert not checks.oom_alone(SimpleNamespace(status="failed", error="RuntimeError: boom"), "stopped", True, 0)[0]


def test_the_exit_code():
    ok, skip = Check("k", "a", checks.PASSED), Check("k", "b", checks.SKIPPED, "why")
    assert exit_code([ok, skip]) == 0
    assert exit_code([ok, skip, Check("k", "c", checks.FAILED, "no")]) == 1
    assert exit_code([skip]) == 1  # nothing was checked at all


def test_the_plan_skips_what_does_not_apply():
    cpu, skips = plan.settings_for("cpu", quick=True)
    assert [s.name for s in cpu] == ["fp32", "channels-last"] and "CUDA-only" in skips[0].why
    cuda, none = plan.settings_for("cuda", quick=False)
    assert [s.name for s in cuda] == ["fp32", "amp", "channels-last", "amp+channels-last"] and none == []
    cases, skipped = plan.cases(("mlp", "lenet"), cuda, ["process", "ray"], ray_archs=("mlp", "lenet"))
    assert [c.label for c in cases if c.service == "ray"] == ["mlp amp (ray)", "lenet amp+channels-last (ray)"]
    assert {s.name for s in skipped} == {"mlp channels-last", "mlp amp+channels-last"}
    assert len([c for c in cases if c.service == "process"]) == 2 + 4
    assert plan.parse_archs("resnet18,mlp") == ("mlp", "resnet18")
    with pytest.raises(ValueError, match="unknown architecture"):
        plan.parse_archs("mlp,vgg")
    cfg = plan.config("resnet18", cuda[3], plan.Sizes.pick(quick=False), "fashion-mnist-mini", 6000)
    assert cfg.small_stem and cfg.amp and cfg.channels_last and cfg.epochs == 7  # 47 batches an epoch, 300 steps


def test_the_table_and_the_check_list():
    result = Result("CPU (2 threads)", "cpu", 0, rows=[
        Row("process", "lenet", "fp32", "completed", "cpu", 5230.4, 1.234, 300.0, 2.3, 0.61, 0.805, 2.5),
        Row("process", "mlp", "fp32", "failed", seconds=0.4)], seconds=12.0)
    result.checks = [Check("losses fall", "lenet fp32 (process)", checks.PASSED, "2.3 → 0.6"),
                     Check("losses fall", "mlp fp32 (process)", checks.FAILED, "only 0 live point(s)"),
                     Check("an out-of-memory job fails alone", "a real one", checks.SKIPPED, "no CUDA GPU here")]
    drawn = table(result)
    assert drawn.startswith("GPU check on CPU (2 threads) (cpu, 0 CUDA GPU(s)): 2 jobs in 12 s")
    assert "5,230" in drawn and "1.23 s" in drawn and "2.30 → 0.61" in drawn and "80.5%" in drawn
    assert "peak resident memory" in drawn
    listed = check_list(result.checks)
    assert listed.splitlines()[0] == "Checks: 1 passed, 1 failed, 1 skipped"
    assert "FAILED   losses fall: 1 of 2 failed" in listed and "mlp fp32 (process): only 0 live point(s)" in listed
    assert "skipped  an out-of-memory job fails alone" in listed and "skipped a real one: no CUDA GPU here" in listed


# ------------------------------------------------------------------ the command, end to end on the CPU
@pytest.mark.slow
def test_the_quick_check_end_to_end(tmp_path, capsys):
    """On the CPU here (on a GPU machine the same run is the GPU's quick check)."""
    from nets.__main__ import main
    out = tmp_path / "check.json"
    code = main(["gpu-check", "--quick", "--no-ray", "--json", str(out)])
    printed = capsys.readouterr().out
    report = json.loads(out.read_text())
    assert code == 0 == report["exit_code"], printed
    cuda = torch.cuda.is_available()
    settings = plan.QUICK["cuda" if cuda else "other"]
    trained = {(r["arch"], r["setting"]) for r in report["rows"]}
    assert trained == {(a, s) for a in plan.QUICK_ARCHS for s in settings
                       if a in plan.CONVOLUTIONAL or not plan.BY_NAME[s].channels_last}
    assert all(r["status"] == "completed" and r["device"] == ("cuda" if cuda else "cpu") and r["images_per_s"] > 0
               and r["first_point_s"] > 0 and r["loss_last"] < r["loss_first"] for r in report["rows"])
    by_kind = {}
    for c in report["checks"]:
        by_kind.setdefault(c["kind"], set()).add(c["status"])
    assert by_kind["losses fall"] == by_kind["trained through the job service"] == {"passed"}
    assert by_kind["a stopped job ends stopped"] == by_kind["no worker died"] == {"passed"}
    assert by_kind["a fresh worker's first job"] == {"passed"} and by_kind["jobs through Ray"] == {"skipped"}
    skips = {c["subject"]: c["detail"] for c in report["checks"] if c["status"] == "skipped"}
    assert "offline" in skips[plan.IMAGENET_SKIP.name] and skips["RayJobs on a local cluster"] == "--no-ray"
    assert printed.count("process  ") == len(trained) and "GPU check passed." in printed and "FAILED" not in printed
    if cuda:
        assert by_kind["memory released when a job ends"] == by_kind["an out-of-memory job fails alone"] == {"passed"}
        return
    assert by_kind["matches a CPU reference on a fixed batch"] == {"passed", "skipped"}  # channels-last / fp32
    for kind in ("memory released when a job ends", "one worker per GPU", "an out-of-memory job fails alone"):
        assert by_kind[kind] == {"skipped"}, kind
    assert "CUDA-only" in skips["mixed precision (amp, amp+channels-last)"] and skips["mlp channels-last"]


@pytest.fixture
def in_threads(monkeypatch):
    """The check's job services in threads of this process (backend "thread"): monkeypatches reach the jobs."""
    from nets.gpucheck import services
    from nets.gpucheck.probe import MemoryProbe
    from nets.server.jobs import JobManager

    def workers(checkpoints, data_dir, size=1, limits=True):
        return JobManager(checkpoints, data_dir, max_running=size, max_per_owner=size, backend="thread",
                          budget=None if limits else services.NO_LIMITS, works={MemoryProbe.kind: MemoryProbe})
    monkeypatch.setattr(services, "workers", workers)


@pytest.mark.slow
def test_a_failing_check_fails_the_command(capsys, monkeypatch, in_threads):
    monkeypatch.setattr(checks, "losses_fall", lambda points, ratio=0.9: (False, "forced to fail by the test"))
    from nets.gpucheck.cli import main
    assert main(["--quick", "--no-ray", "--archs", "mlp", "--steps", "8"]) == 1
    printed = capsys.readouterr().out
    assert "FAILED   losses fall: 1 of 1 failed" in printed and "forced to fail by the test" in printed
    assert printed.rstrip().endswith("GPU check FAILED.")


@pytest.mark.slow
def test_the_out_of_memory_part_as_it_runs_on_a_gpu(monkeypatch, in_threads):
    """The GPU's out-of-memory part, on the CPU: its job raises CUDA's error at its first step (as
    tests/test_faults.py provokes one) while the job beside it trains; the part sees it fail alone."""
    from nets.engine import start
    from nets.gpucheck.runner import CheckRun, Options
    real_build = start.build_model

    def build(name, *args, **options):
        if len(options.get("layers") or ()) > 40:  # plan.oom_config's network
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 8.00 GiB")
        return real_build(name, *args, **options)
    monkeypatch.setattr(start, "build_model", build)
    run = CheckRun(Options(quick=True, archs=("mlp",), ray=False), say=lambda line: None)
    run.device = torch.device("cuda")  # what the part asks; the jobs themselves train on the CPU
    try:
        run.out_of_memory("mlp")
    finally:
        shutil.rmtree(run.folder)
    (oom,) = [c for c in run.result.checks if c.kind == "an out-of-memory job fails alone"]
    assert oom.status == checks.PASSED, oom.detail
    assert "'Out of GPU memory (CUDA out of memory." in oom.detail and "went on and ended stopped" in oom.detail
    memory = [c for c in run.result.checks if c.kind == "memory released after the out-of-memory job"]
    assert len(memory) == 2 and (torch.cuda.is_available() or {c.status for c in memory} == {checks.SKIPPED})

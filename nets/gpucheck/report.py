"""What the GPU check prints: one table of the jobs' figures, then the checks passed, failed and skipped (grouped, each failure and skip with why)."""
from __future__ import annotations

from nets.gpucheck.checks import FAILED, PASSED, SKIPPED, Check, exit_code

COLUMNS = (("service", "<"), ("architecture", "<"), ("setting", "<"), ("status", "<"), ("images/s", ">"),
           ("first point", ">"), ("peak MB", ">"), ("loss", ">"), ("test acc", ">"), ("job s", ">"))


def _num(value, fmt: str, suffix: str = "") -> str:
    return "—" if value is None else f"{value:{fmt}}{suffix}"


def cells(row) -> list[str]:
    loss = "—" if row.loss_first is None else f"{row.loss_first:.2f} → {row.loss_last:.2f}"
    return [row.service, row.arch, row.setting, row.status, _num(row.images_per_s, ",.0f"),
            _num(row.first_point_s, ".2f", " s"), _num(row.peak_mb, ",.0f"), loss,
            _num(None if row.test_acc is None else 100 * row.test_acc, ".1f", "%"), _num(row.seconds, ".1f")]


def table(result) -> str:
    """The one table: a heading with the device, a line per job, and what the columns mean."""
    lines = [f"GPU check on {result.device} ({result.device_type}, {result.gpus} CUDA GPU(s)): "
             f"{len(result.rows)} job{'' if len(result.rows) == 1 else 's'} in {result.seconds:.0f} s"]
    rows = [[name for name, _ in COLUMNS]] + [cells(r) for r in result.rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    for r in rows:
        lines.append("  ".join(f"{c:{align}{w}}" for c, (_, align), w in zip(r, COLUMNS, widths)).rstrip())
    peak = ("CUDA memory at the job's peak (torch.cuda.max_memory_allocated in its worker)" if result.device_type ==
            "cuda" else "the worker process's peak resident memory so far (no CUDA memory to measure)")
    lines.append(f"images/s: training images per second; first point: from the submit to the first point of the "
                 f"live loss chart; peak MB: {peak}; loss: the first live point → the last.")
    return "\n".join(lines)


def grouped(found: list[Check]) -> list[tuple[str, list[Check]]]:
    """The checks by kind, in the order their kinds first appear."""
    kinds: dict[str, list[Check]] = {}
    for c in found:
        kinds.setdefault(c.kind, []).append(c)
    return list(kinds.items())


def check_list(found: list[Check]) -> str:
    """One line per kind of check (passed, failed or skipped, with counts), and under it each failure
    and each skip with its reason."""
    count = {s: sum(c.status == s for c in found) for s in (PASSED, FAILED, SKIPPED)}
    lines = [f"Checks: {count[PASSED]} passed, {count[FAILED]} failed, {count[SKIPPED]} skipped"]
    for kind, group in grouped(found):
        fails = [c for c in group if c.status == FAILED]
        passes = [c for c in group if c.status == PASSED]
        skips = [c for c in group if c.status == SKIPPED]
        if fails:
            head = f"FAILED   {kind}: {len(fails)} of {len(fails) + len(passes)} failed"
        elif passes:
            head = f"passed   {kind}" + (f" ({len(passes)})" if len(passes) > 1 else f": {passes[0].detail}"
                                        if passes[0].detail else "")
        else:
            head = f"skipped  {kind}"
        lines.append(head + (f"; {len(skips)} skipped" if skips and (fails or passes) else ""))
        lines += [f"           {c.subject}: {c.detail}" for c in fails]
        reasons: dict[str, list[str]] = {}  # subjects that share a reason on one line
        for c in skips:
            reasons.setdefault(c.detail, []).append(c.subject)
        lines += [f"           skipped {', '.join(subjects)}: {why}" for why, subjects in reasons.items()]
    return "\n".join(lines)


def text(result) -> str:
    verdict = "FAILED" if exit_code(result.checks) else "passed"
    return f"{table(result)}\n\n{check_list(result.checks)}\n\nGPU check {verdict}."

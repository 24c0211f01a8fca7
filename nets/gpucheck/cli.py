"""python -m nets gpu-check [--quick] [--json FILE] [--no-ray] [--archs a,b]: the check's command line; exit code 1 on any failure."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nets.gpucheck import plan
from nets.gpucheck.checks import exit_code
from nets.gpucheck.report import text
from nets.gpucheck.runner import Options, run_check


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m nets gpu-check", description=(
        "Train each architecture through the app's job service (worker processes, and Ray when installed) "
        "with and without mixed precision and channels-last on the device present; check that losses fall, "
        "that the device matches a CPU reference, that memory is released, that an out-of-memory job fails "
        "alone; print one table and the checks. Exit code 1 on any failure."))
    ap.add_argument("--quick", action="store_true",
                    help=f"a small subset, few steps ({', '.join(plan.QUICK_ARCHS)}; the test suite's run)")
    ap.add_argument("--json", metavar="FILE", help="also write the rows and checks as JSON to FILE")
    ap.add_argument("--no-ray", action="store_true", help="skip the jobs through Ray")
    ap.add_argument("--archs", metavar="A,B", help=f"architectures, from {', '.join(plan.ARCHS)} "
                                                   "(default: all; with --quick: " + ",".join(plan.QUICK_ARCHS) + ")")
    ap.add_argument("--dataset", default="fashion-mnist-mini", help="what the jobs train on (default: the bundled "
                                                                     "fashion-mnist-mini, so no download is needed)")
    ap.add_argument("--steps", type=int, help="optimiser steps per job (default: 300; 40 with --quick)")
    return ap


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        archs = plan.parse_archs(args.archs or (",".join(plan.QUICK_ARCHS) if args.quick else None))
    except ValueError as e:
        parser().error(str(e))
    options = Options(quick=args.quick, archs=archs, ray=not args.no_ray, dataset=args.dataset, steps=args.steps,
                      job_timeout=120.0 if args.quick else 240.0)
    result = run_check(options, say=lambda line: print(line, file=sys.stderr, flush=True))
    print(text(result), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(result.to_dict(), indent=1, default=str))
    return exit_code(result.checks)

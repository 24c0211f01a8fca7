"""The one command line: `python -m nets <command> [options]`.

    train      train one configuration (or the four) and save it as a run   (nets.cli)
    bench      the engine against the tutorial DataLoader loop              (nets.engine.bench)
    features   frozen-feature extraction throughput                         (nets.engine.frozen_features)
    scratch    the NumPy network's coursework run; --bench: its speed       (nets.scratch.cli)
    scratch-bench  time per epoch, NumPy network against its PyTorch twin   (nets.scratch.cli)
    runs       rebuild, recover, clean up or list the saved runs            (nets.runs.__main__)
    charts     the server's cost of one live-chart redraw                   (nets.charts.bench)
    ray        the Ray job service: status, shutdown                        (nets.server.ray_jobs)
    serve      N app processes behind nginx, one shared job queue           (nets.server.web)
    jobs       the shared job queue (started by serve)                       (nets.server.shared_jobs)
    worker     a worker process of the job service (started by the server)  (nets.server.worker)
    accounts   students' passphrases on a classroom server: list, reset NAME (nets.server.accounts)
    gpu-check  the GPU path proved: jobs, Ray, amp, channels-last, memory    (nets.gpucheck.cli)

`python -m nets <command> --help` lists a command's options.
"""
import importlib
import sys

COMMANDS = {  # command → (module, function); imported only when asked for
    "train": ("nets.cli", "main"),
    "bench": ("nets.engine.bench", "main"),
    "features": ("nets.engine.frozen_features", "main"),
    "scratch": ("nets.scratch.cli", "accuracy_main"),
    "scratch-bench": ("nets.scratch.cli", "speed_main"),
    "runs": ("nets.runs.__main__", "main"),
    "charts": ("nets.charts.bench", "main"),
    "ray": ("nets.server.ray_jobs", "main"),
    "serve": ("nets.server.web", "main"),
    "jobs": ("nets.server.shared_jobs", "main"),
    "worker": ("nets.server.worker", "main"),
    "accounts": ("nets.server.accounts", "main"),
    "gpu-check": ("nets.gpucheck.cli", "main"),
}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in COMMANDS:
        print(__doc__, file=sys.stderr if argv and argv[0] not in ("-h", "--help") else sys.stdout)
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    module, function = COMMANDS[argv[0]]
    sys.argv = [f"python -m nets {argv[0]}", *argv[1:]]  # argparse's usage lines name the command
    result = getattr(importlib.import_module(module), function)(*([] if argv[0] == "worker" else [argv[1:]]))
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())

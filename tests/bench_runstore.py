"""Page script time as the runs folder grows, and the index rebuild time.

    python tests/bench_runstore.py [--sizes 1,500,5000] [--repeats 5] [--rounds 2]

Fills one temporary checkpoints folder per size with copies of the shipped run (weights
hard-linked, run.json rewritten: 60 students' names, a mix of statuses and dates), indexes it,
then, alternating the sizes round by round, opens each page with AppTest in this process (as the
server runs a session's script) and takes the median script time. Prints each page's time and its
ratio to the smallest folder's; the issue's target is at most 1.2x at 5,000 runs.
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from bench_pages import page_time  # noqa: E402  (the same medians as the jobs benchmark)
from nets.runs import DEFAULT_ROOT, RUN_FILE, RunIndex, get_run, index, load_model, stored_evaluation  # noqa: E402

SHIPPED = "lenet-mnist-mini"
PAGES = {"home": "pages/home.py", "runs": "pages/runs.py", "predictions": "pages/predictions.py",
         "classify": "pages/classify.py"}
STATUSES = ["completed"] * 7 + ["failed", "stopped", "interrupted"]


def fill(root: Path, n: int, source: Path) -> None:
    """`n` runs: the shipped run itself and n - 1 copies of it."""
    shutil.copytree(source, root / SHIPPED)
    info = json.loads((source / RUN_FILE).read_text())
    files = [p for p in source.iterdir() if p.name != RUN_FILE]
    for i in range(1, n):
        run_id = f"2026{(i % 12) + 1:02d}{(i % 28) + 1:02d}-{i:05d}-lenet-copy"
        folder = root / run_id
        folder.mkdir()
        for f in files:
            os.link(f, folder / f.name)
        status = STATUSES[i % len(STATUSES)]
        (folder / RUN_FILE).write_text(json.dumps({
            **info, "id": run_id, "name": f"lenet · student {i % 60:02d} · try {i}", "owner": f"student-{i % 60:02d}",
            "status": status, "created": f"2026-{(i % 12) + 1:02d}-{(i % 28) + 1:02d} 10:{i % 60:02d}:00",
            "shared": i % 97 == 0}))


def measure(root: Path, pages: list[str], repeats: int) -> dict[str, float]:
    os.environ["NNLAB_CHECKPOINTS"] = str(root)
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.run()
    return {p: page_time(at, PAGES[p], repeats) for p in pages}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", default="1,500,5000")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--rounds", type=int, default=2, help="alternations of the folder sizes")
    p.add_argument("--pages", default=",".join(PAGES))
    args = p.parse_args()
    sizes, pages = [int(s) for s in args.sizes.split(",")], args.pages.split(",")
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        source = tmp / "source"
        shutil.copytree(DEFAULT_ROOT / SHIPPED, source)
        run = get_run(tmp, "source")  # its test evaluation stored once, as training does now
        from nets.engine.data import load_dataset
        from nets.runs.compare import evaluate_run
        stored_evaluation(run, lambda: evaluate_run(run, load_model(run), load_dataset("mnist-mini")))
        roots = {}
        for n in sizes:
            roots[n] = tmp / f"runs-{n}"
            roots[n].mkdir()
            t = time.perf_counter()
            fill(roots[n], n, source)
            made = time.perf_counter() - t
            t = time.perf_counter()
            count = index(roots[n]).rebuild()
            print(f"{n:>6} runs: made in {made:.1f} s, index rebuilt in {time.perf_counter() - t:.2f} s "
                  f"({count} rows)", flush=True)
        # A fresh process finding no index builds it on first use: time that too for the largest.
        largest = roots[max(sizes)]
        for f in largest.glob("index.sqlite*"):
            f.unlink()
        RunIndex._ready.discard(str(largest / "index.sqlite"))
        t = time.perf_counter()
        index(largest).count()
        print(f"{max(sizes):>6} runs: index built from nothing on first use in {time.perf_counter() - t:.2f} s",
              flush=True)
        results: dict[tuple, list] = {}
        for _ in range(args.rounds):
            for n in sizes:
                for page, seconds in measure(roots[n], pages, args.repeats).items():
                    results.setdefault((n, page), []).append(seconds)
        base = min(sizes)
        print("\nscript time per page view (median), and its ratio to the folder with "
              f"{base} run{'s' if base > 1 else ''}")
        print(f"{'runs saved':>10} | " + " | ".join(f"{p:>18}" for p in pages))
        for n in sizes:
            cells = []
            for page in pages:
                t, t0 = statistics.median(results[(n, page)]), statistics.median(results[(base, page)])
                cells.append(f"{t:6.3f} s ({t / t0:4.2f}x)")
            print(f"{n:>10} | " + " | ".join(f"{c:>18}" for c in cells))


if __name__ == "__main__":
    main()

"""The Data lab's noise lesson walked as a new user in Chromium (a script, not a test): a fresh server (jobs in
worker processes), the defaults (Fashion-MNIST-mini, LeNet, 30% of labels flipped at random), Train both, then
"Find them" with k folds; prints the seconds of each step and writes screenshots (test-artifacts/walk-datalab-*.png).

    python tests/walk_datalab.py [--folds 3] [--width 1366 --height 768]
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import ROOT, chromium_page, open_at, settle, streamlit_server  # noqa: E402

SHOTS = ROOT / "test-artifacts"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--folds", type=int, default=3, choices=(3, 5))
    p.add_argument("--width", type=int, default=1366)
    p.add_argument("--height", type=int, default=768)
    args = p.parse_args()
    SHOTS.mkdir(exist_ok=True)
    ckpt = Path(tempfile.mkdtemp()) / "checkpoints"
    ckpt.mkdir()
    w = args.width
    with streamlit_server({"NNLAB_CHECKPOINTS": str(ckpt)}) as url, chromium_page(w, args.height) as page:
        main = page.locator('[data-testid="stMain"]')
        t0 = time.perf_counter()
        open_at(page, url + "/data_lab", "Data lab")
        main.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=120_000)
        settle(page)
        print(f"open → the training sets drawn: {time.perf_counter() - t0:.1f} s", flush=True)
        page.screenshot(path=str(SHOTS / f"walk-datalab-{w}-open.png"))
        t0 = time.perf_counter()
        main.get_by_role("button", name="Train on the clean and the modified set").click()
        main.get_by_text("Modified set", exact=True).first.wait_for(timeout=600_000)
        settle(page)
        print(f"Train both → results: {time.perf_counter() - t0:.1f} s", flush=True)
        page.screenshot(path=str(SHOTS / f"walk-datalab-{w}-results.png"), full_page=True)
        main.get_by_text(str(args.folds), exact=True).last.click()
        settle(page)
        t0 = time.perf_counter()
        main.get_by_role("button", name="Find them").click()
        main.get_by_text("Precision", exact=True).first.wait_for(timeout=900_000)
        settle(page)
        print(f"Find them ({args.folds} folds) → flags scored: {time.perf_counter() - t0:.1f} s", flush=True)
        page.screenshot(path=str(SHOTS / f"walk-datalab-{w}-check.png"), full_page=True)
        print("errors on the page:", main.locator('[data-testid="stException"]').count())


if __name__ == "__main__":
    main()

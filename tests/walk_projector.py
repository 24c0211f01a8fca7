"""The Feature projector walked as a new user in Chromium (a script, not a test): a fresh server whose jobs run in
worker processes, the shipped LeNet run with nothing stored; prints the seconds from opening the page to the PCA
scatter, from switching to UMAP to its scatter, for the per-epoch UMAP layouts, and back to PCA (stored); screenshots
at 1366×768 and 1920×1080 into test-artifacts/walk-projector-*.png.

    python tests/walk_projector.py
"""
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import ROOT, chromium_page, open_at, settle, streamlit_server  # noqa: E402

SHOTS = ROOT / "test-artifacts"


def seconds_until_drawn(main, t0: float) -> float:
    main.get_by_text("kNN purity", exact=True).first.wait_for(timeout=300_000)
    return time.perf_counter() - t0


def main() -> None:
    SHOTS.mkdir(exist_ok=True)
    ckpt = Path(tempfile.mkdtemp()) / "checkpoints"
    shutil.copytree(ROOT / "checkpoints" / "lenet-mnist-mini", ckpt / "lenet-mnist-mini",
                    ignore=shutil.ignore_patterns("features-model*", "projection-*", "layouts-*"))
    with streamlit_server({"NNLAB_CHECKPOINTS": str(ckpt)}) as url:
        for w, h in ((1366, 768), (1920, 1080)):
            with chromium_page(w, h) as page:
                main = page.locator('[data-testid="stMain"]')
                t0 = time.perf_counter()
                open_at(page, url + "/projector", "Feature projector")
                print(f"{w}×{h}: open → PCA scatter {seconds_until_drawn(main, t0):.1f} s", flush=True)
                settle(page)
                page.screenshot(path=str(SHOTS / f"walk-projector-{w}-pca.png"))
                if w == 1366:
                    t0 = time.perf_counter()
                    main.get_by_text("UMAP", exact=True).first.click()
                    page.wait_for_timeout(1500)
                    print(f"  switch to UMAP → scatter {seconds_until_drawn(main, t0):.1f} s", flush=True)
                    settle(page)
                    page.screenshot(path=str(SHOTS / f"walk-projector-{w}-umap.png"))
                    t0 = time.perf_counter()
                    main.get_by_text("UMAP", exact=True).nth(1).click()
                    panel = main.locator(".st-key-proj_panel_epochs")  # the job's panel, then the layouts
                    panel.wait_for(timeout=60_000)
                    panel.wait_for(state="detached", timeout=300_000)
                    main.get_by_text("kNN purity at epoch").first.wait_for(timeout=300_000)
                    print(f"  per-epoch UMAP layouts → drawn {time.perf_counter() - t0:.1f} s", flush=True)
                    settle(page)
                    page.screenshot(path=str(SHOTS / f"walk-projector-{w}-epochs.png"), full_page=True)
                    t0 = time.perf_counter()
                    main.get_by_text("PCA", exact=True).first.click()
                    settle(page)
                    print(f"  back to PCA (stored) {seconds_until_drawn(main, t0):.1f} s", flush=True)
                print("  errors on the page:", main.locator('[data-testid="stException"]').count())
    shutil.rmtree(ckpt.parent, ignore_errors=True)


if __name__ == "__main__":
    main()

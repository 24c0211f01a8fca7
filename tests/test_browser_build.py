"""Issue 24 in Chromium at 1366×768: a student builds a small CNN from nothing on the Build page, meets a
shape error that names the layer, fixes it with one click, trains it and finds it on Runs."""
import time

import pytest

from browser import ROOT, chromium_page, open_at, require_chromium, settle, streamlit_server

ARTIFACTS = ROOT / "test-artifacts"
WIDTH, HEIGHT = 1366, 768  # a classroom projector

require_chromium()


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"build-{name}.png"))


def in_view(locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT + 1


def add(page, main, box_label: str, option: str) -> float:
    """Choose a layer type in the insert box and press Add; the seconds until the page settled."""
    main.get_by_test_id("stSelectbox").filter(has_text=box_label).click()
    page.get_by_role("option", name=option).first.click()
    settle(page)
    t = time.perf_counter()
    main.get_by_role("button", name="Add", exact=True).click()
    settle(page)
    return time.perf_counter() - t


@pytest.mark.slow
def test_build_a_cnn_from_nothing_fix_its_shape_train_it_and_find_it(tmp_path):
    ckpt = tmp_path / "checkpoints"
    ckpt.mkdir()
    with streamlit_server({"NNLAB_CHECKPOINTS": str(ckpt)}) as url, chromium_page(WIDTH, HEIGHT) as page:
        main = open_at(page, f"{url}/build", "Build a network")
        assert main.get_by_text("No layers yet").first.is_visible()
        add(page, main, "First layer", "Conv:")
        for kind in ("ReLU:", "MaxPool:", "Linear:"):
            add(page, main, "Insert after it", kind)

        # Conv 16×26×26 → MaxPool 16×13×13 → Linear: the error names the layer, the shape and the fix.
        error = main.locator('[data-testid="stAlert"]').filter(has_text="Linear 1 gets a 16×13×13 map").first
        error.wait_for(timeout=30_000)
        fix = main.get_by_role("button", name="insert Flatten before Linear 1")
        assert in_view(error) and in_view(fix), "the problem and its fix are on screen at 1366×768"
        shot(page, "error")
        fix.click()
        settle(page)
        main.get_by_text("27,210 parameters").first.wait_for(timeout=30_000)  # (9+1)·16 + (16·13·13+1)·10
        assert main.locator('[data-testid="stAlert"]').filter(has_text="gets a").count() == 0
        shot(page, "fixed")

        # Train this network: the Train page with the form filled; a tiny run.
        main.get_by_role("button", name="Train this network").click()
        main.get_by_role("heading", name="Train").first.wait_for(timeout=60_000)
        settle(page)
        assert "/train" in page.url
        for label, value in (("Training images per class (0 = all)", 20), ("Epochs", 1)):
            typed = main.locator(f'input[aria-label="{label}"]')
            typed.fill(str(value))
            typed.press("Enter")
            settle(page)
        assert main.get_by_text("27,210 parameters").first.is_visible()
        main.get_by_role("button", name="Train", exact=True).filter(visible=True).click()
        main.get_by_text("Completed all 1 epoch").first.wait_for(timeout=300_000)  # a bound for a busy machine
        shot(page, "trained")

        # Runs lists it under its own name.
        main = open_at(page, f"{url}/runs", "Runs")
        main.get_by_text("custom c16").first.wait_for(timeout=30_000)
        shot(page, "runs")

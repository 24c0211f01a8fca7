"""Issue 20 in Chromium at 1366×768: Home's quick start trains with one click and lands on the live panel
(item 9); the outcome box leaves the charts in view (item 10); a doctor's follow-up says so beside Train,
with the new run's own name (item 3)."""
import re
import sys
from pathlib import Path

import pytest

from browser import ROOT, chromium_page, open_at, require_chromium, settle, streamlit_server

sys.path.insert(0, str(Path(__file__).parent))

ARTIFACTS = ROOT / "test-artifacts"
WIDTH, HEIGHT = 1366, 768  # a classroom projector

require_chromium()


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"i20-{name}.png"))


def in_view(locator, part: float = 1.0) -> bool:
    """Whether `part` of the element (from its top) is on the screen without scrolling."""
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + part * box["height"] <= HEIGHT + 1


@pytest.mark.slow
def test_one_click_trains_then_the_outcome_and_the_doctor_fit_the_screen(tmp_path):
    ckpt = tmp_path / "checkpoints"
    ckpt.mkdir()
    with streamlit_server({"NNLAB_CHECKPOINTS": str(ckpt)}) as url, chromium_page(WIDTH, HEIGHT) as page:
        main = open_at(page, url, "Start here")
        shot(page, "home")
        main.get_by_role("button", name="Train now").first.click()  # one click, nothing else

        # The Train page's live panel: the job's progress and its loss chart, on screen, no second click.
        main.get_by_role("heading", name="Train").first.wait_for(timeout=60_000)
        main.locator('[data-testid="stProgress"]').first.wait_for(timeout=60_000)
        chart = main.locator('[data-testid="stVegaLiteChart"]').first
        chart.wait_for(timeout=60_000)
        assert "/train" in page.url
        assert in_view(main.locator('[data-testid="stProgress"]').first)
        assert in_view(chart, 0.5), "the loss chart is on screen"
        shot(page, "live")
        assert main.get_by_text("lenet · mnist-mini · sgd lr 0.05").first.is_visible()  # the job, already started

        # Stopped: the outcome above the charts, the charts still in view, one batch count in both.
        progress = main.locator('[data-testid="stProgress"]').first
        page.wait_for_function("() => /batch [0-9]+ of/.test(document.querySelector('[data-testid=stMain]').innerText)",
                               timeout=120_000)
        main.get_by_role("button", name="Stop", exact=True).click()
        box = main.locator('[data-testid="stAlert"]').filter(has_text="Stopped").first
        box.wait_for(timeout=120_000)
        settle(page)
        page.wait_for_timeout(1500)
        shot(page, "outcome")
        charts = main.locator('[data-testid="stVegaLiteChart"]')
        assert in_view(box) and charts.count() >= 1 and in_view(charts.first, 0.6), \
            "the outcome box leaves the charts on screen"
        said = re.search(r"after (\d+) of (\d+) batches", box.inner_text())
        if said:  # stopped after a training step (not while loading)
            assert f"batch {said[1]} of {said[2]}" in progress.inner_text()

        # A learning rate of 1000, then the doctor's follow-up: its note beside Train, with the new name.
        main.get_by_role("button", name="Edit settings").click()
        settle(page)
        for label, value in (("Training images per class (0 = all)", 20), ("Epochs", 2), ("Learning rate", 1000)):
            typed = main.locator(f'input[aria-label="{label}"]')
            typed.fill(str(value))
            typed.press("Enter")
            settle(page)
        main.get_by_role("button", name="Train", exact=True).filter(visible=True).click()
        retry = main.get_by_role("button", name="Retry with learning rate 0.01")
        retry.wait_for(timeout=120_000)
        settle(page)
        shot(page, "doctor")
        retry.click()
        settle(page)
        note = main.locator('[data-testid="stAlertContentSuccess"]').filter(has_text="learning rate 1000 → 0.01")
        note.wait_for(timeout=30_000)
        page.wait_for_timeout(800)
        shot(page, "fixed")
        assert in_view(note), "the doctor's note is in view without scrolling"
        assert "sgd lr 0.01" in note.inner_text() and "lr 1000 ·" not in note.inner_text()

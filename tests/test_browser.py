"""End to end in a real browser: train from the UI, see the run, classify a digit."""
import shutil

import pytest

from browser import ROOT, chromium_page, require_chromium, streamlit_server
from nets.runs import list_runs

ARTIFACTS = ROOT / "test-artifacts"

require_chromium()


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.slow
def test_train_then_look_at_the_run(tmp_path):
    ckpt = tmp_path / "checkpoints"
    shutil.copytree(ROOT / "checkpoints" / "lenet-mnist-mini", ckpt / "lenet-mnist-mini")
    with streamlit_server({"NNLAB_CHECKPOINTS": str(ckpt)}) as url, chromium_page() as page:
        main = page.locator('[data-testid="stMain"]')
        page.goto(url)
        main.get_by_text("Start here").wait_for(timeout=30_000)
        shot(page, "1-home")
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Train", exact=True).click()
        main.get_by_role("heading", name="Train").wait_for(timeout=30_000)
        epochs = main.get_by_role("spinbutton", name="Epochs", exact=True)
        epochs.fill("1")
        epochs.press("Enter")
        page.wait_for_timeout(500)
        main.get_by_role("button", name="Train", exact=True).click()
        main.get_by_text("Completed all 1 epoch").wait_for(timeout=300_000)  # a bound for a busy machine
        shot(page, "2-trained")
        text = main.inner_text()
        assert "Saved as run" in text
        runs = [r for r in list_runs(ckpt)[0] if r.id != "lenet-mnist-mini"]
        assert len(runs) == 1 and runs[0].info["status"] == "completed"
        assert f"{runs[0].info['test']['accuracy']:.1%}" in text

        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Runs").click()
        main.get_by_text(runs[0].name).first.wait_for(timeout=30_000)
        shot(page, "3-runs")

        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Classify an image").click()
        main.get_by_text("2 · Prediction").wait_for(timeout=60_000)
        main.get_by_role("combobox", name="Sample").click()  # the selectbox: pick a bundled digit
        page.get_by_role("option", name="digit-7.png").click()
        prediction = main.get_by_test_id("stMetricValue").first
        page.wait_for_function("() => [...document.querySelectorAll('[data-testid=stMetricValue]')]"
                               ".some(e => e.innerText.trim() === '7')", timeout=60_000)
        assert prediction.inner_text().strip() == "7"
        shot(page, "4-classify")

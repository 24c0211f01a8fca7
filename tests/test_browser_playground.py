"""Playground in a real browser: pick the spiral, switch on features, press Play, and see the test loss
fall and the output heatmap change while training runs in the fragment (screenshot saved)."""
import re
import time

import pytest

from browser import ROOT, chromium_page, require_chromium, streamlit_server

ARTIFACTS = ROOT / "test-artifacts"

require_chromium()


def metric(main, label) -> float:
    box = main.get_by_test_id("stMetric").filter(has_text=label)
    return float(re.sub(r"[^0-9.]", "", box.get_by_test_id("stMetricValue").inner_text()))


@pytest.mark.slow
def test_spiral_play_trains_live():
    with streamlit_server() as url, chromium_page(1366, 768) as page:
        main = page.locator('[data-testid="stMain"]')
        page.goto(url + "/playground")
        main.get_by_text("Training loss").wait_for(timeout=60_000)
        main.get_by_test_id("stSelectbox").filter(has_text="Dataset").click()
        page.get_by_role("option", name="Spiral", exact=True).click()
        for label in ("X₁²", "X₂²", "X₁X₂", "sin(X₁)", "sin(X₂)"):  # x1, x2 alone: TF's lesson, no progress
            main.get_by_test_id("stCheckbox").filter(has_text=re.compile(f"^{re.escape(label)}$")).click()
            time.sleep(0.5)
        page.get_by_test_id("stStatusWidget").wait_for(state="detached", timeout=30_000)  # reruns done
        start = metric(main, "Test loss")
        heat = main.get_by_test_id("stImage").nth(1).locator("img")
        before = heat.get_attribute("src")
        main.get_by_role("button", name="▶ Play").click()
        main.get_by_role("button", name="⏸ Pause").wait_for(timeout=30_000)
        deadline, now = time.time() + 180, start
        while time.time() < deadline:
            now = metric(main, "Test loss")
            if now < 0.9 * start and metric(main, "Epoch") >= 5:
                break
            time.sleep(0.5)
        assert now < 0.9 * start, (start, now)
        assert heat.get_attribute("src") != before
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "playground-mid-training.png"))
        print(f"test loss {start:.3f} -> {now:.3f} at epoch {metric(main, 'Epoch'):.0f}")
        main.get_by_role("button", name="⏸ Pause").click()
        main.get_by_role("button", name="▶ Play").wait_for(timeout=30_000)


@pytest.mark.slow
def test_xor_logic_network_opens_with_its_half_planes():
    with streamlit_server() as url, chromium_page(1366, 768) as page:
        main = page.locator('[data-testid="stMain"]')
        page.goto(url + "/logic_network")
        box = main.get_by_label("Boolean expression", exact=True).and_(main.get_by_test_id("stTextInputField"))
        box.wait_for(timeout=60_000)
        box.fill("P xor Q")
        box.press("Enter")
        main.get_by_text("Open this network in the Playground").click()
        main.get_by_text("weights in the link").wait_for(timeout=60_000)
        main.get_by_test_id("stCheckbox").filter(has_text="Half-planes of layer 1").click()
        page.get_by_test_id("stStatusWidget").wait_for(state="detached", timeout=30_000)
        time.sleep(1)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "playground-xor-logic-link.png"))
        assert metric(main, "Epoch") == 0
        main.get_by_role("button", name="Predict, then press Play").click()
        page.get_by_role("button", name="Set it up").click()
        page.get_by_text("Your prediction").wait_for(timeout=30_000)
        time.sleep(1)
        page.screenshot(path=str(ARTIFACTS / "playground-scenario.png"), full_page=True)

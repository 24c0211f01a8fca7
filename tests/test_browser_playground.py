"""Playground in a real browser: pick the spiral, switch on features, press Play, and see the test loss
fall and the output heatmap change while the browser trains (pages/_playground_live.py; screenshot saved);
a pause hands the network to the server, where Step goes on from it."""
import re
import time

import pytest

from browser import ROOT, chromium_page, require_chromium, streamlit_server

ARTIFACTS = ROOT / "test-artifacts"

require_chromium()


@pytest.fixture(scope="module")
def url():
    """One server for the module's tests (each opens its own browser, so its own session)."""
    with streamlit_server() as address:
        yield address


PANEL_IDS = {"Epoch": "pg-epoch", "Training loss": "pg-train-loss", "Test loss": "pg-test-loss"}


def metric(main, label) -> float:
    """A number of the live panel (drawn by the browser, in the component's shadow root)."""
    return float(re.sub(r"[^0-9.]", "", main.get_by_test_id(PANEL_IDS[label]).inner_text()))


@pytest.mark.slow
def test_spiral_play_trains_live(url):
    with chromium_page(1366, 768) as page:
        main = page.locator('[data-testid="stMain"]')
        page.goto(url + "/playground")
        main.get_by_test_id("pg-train-loss").wait_for(timeout=60_000)
        main.get_by_test_id("stSelectbox").filter(has_text="Dataset").click()
        page.get_by_role("option", name="Spiral", exact=True).click()
        for label in ("X₁²", "X₂²", "X₁X₂", "sin(X₁)", "sin(X₂)"):  # x1, x2 alone: TF's lesson, no progress
            main.get_by_test_id("stCheckbox").filter(has_text=re.compile(f"^{re.escape(label)}$")).click()
            time.sleep(0.5)
        page.get_by_test_id("stStatusWidget").wait_for(state="detached", timeout=30_000)  # reruns done
        start = metric(main, "Test loss")
        heat = main.get_by_test_id("pg-heatmap")
        before = heat.evaluate("c => c.toDataURL()")
        main.get_by_role("button", name="▶ Play").click()
        main.get_by_role("button", name="⏸ Pause").wait_for(timeout=30_000)
        deadline, now = time.time() + 180, start
        while time.time() < deadline:
            now = metric(main, "Test loss")
            if now < 0.9 * start and metric(main, "Epoch") >= 5:
                break
            time.sleep(0.5)
        assert now < 0.9 * start, (start, now)
        assert heat.evaluate("c => c.toDataURL()") != before
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "playground-mid-training.png"))
        print(f"test loss {start:.3f} -> {now:.3f} at epoch {metric(main, 'Epoch'):.0f}")
        main.get_by_role("button", name="⏸ Pause").click()
        main.get_by_role("button", name="▶ Play").wait_for(timeout=30_000)
        time.sleep(1.0)  # the pause's hand-over reaches the server
        page.get_by_test_id("stStatusWidget").wait_for(state="detached", timeout=30_000)
        paused = metric(main, "Epoch")
        main.get_by_role("button", name="Step").click()  # the server's Step, from the browser's network
        deadline = time.time() + 30
        while metric(main, "Epoch") != paused + 1 and time.time() < deadline:
            time.sleep(0.2)
        assert metric(main, "Epoch") == paused + 1


@pytest.mark.slow
def test_xor_logic_network_opens_with_its_half_planes(url):
    with chromium_page(1366, 768) as page:
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
        page.get_by_role("radio").first.check(force=True)  # a prediction, then Play: the browser stops by itself
        page.keyboard.press("Escape")
        main.get_by_role("button", name="▶ Play").click()
        main.get_by_role("button", name="▶ Play").wait_for(timeout=60_000)  # Play is back: the epochs are done
        main.get_by_text("Why:").wait_for(timeout=30_000)  # the verdict, read from every epoch's record
        from nets.playground.scenarios import EPOCHS
        assert metric(main, "Epoch") == EPOCHS


def layers_agree(page, main, want: int) -> None:
    """Once the run has settled: no traceback; the count, the size boxes, the heat map and the loss chart
    all on the page (stale elements of the last run fade out only when a run ends: poll, then assert)."""
    count = main.get_by_text(f"{want} hidden layer{'s' * (want != 1)}", exact=True)
    boxes = main.locator('input[aria-label^="Layer "]')
    deadline = time.time() + 30
    while time.time() < deadline:
        if page.get_by_test_id("stStatusWidget").count() == 0 and count.count() == 1 and boxes.count() == want:
            break
        time.sleep(0.2)
    errors = main.get_by_test_id("stException")
    assert errors.count() == 0, errors.first.inner_text()
    assert count.count() == 1 and boxes.count() == want, (want, boxes.count())
    assert main.get_by_test_id("pg-heatmap").count() == 1  # the live panel: the network diagram and the heat map
    assert main.locator("canvas.pg-curve").count() == 1  # the loss curve
    drawn = main.locator("[data-widths]")  # the diagram drawn has the layers the boxes say
    deadline = time.time() + 10
    while len(drawn.get_attribute("data-widths").split(",")) != want + 2 and time.time() < deadline:
        time.sleep(0.2)
    assert len(drawn.get_attribute("data-widths").split(",")) == want + 2


@pytest.mark.slow
def test_layers_down_to_none_and_back(url):
    """Issue 20: ➖ down to 0 hidden layers and ➕ back showed TypeError (weight_ui) in 2 of 3 tries, the heat
    map and the loss chart vanished, and the count lagged one click."""
    with chromium_page(1366, 768) as page:
        main = page.locator('[data-testid="stMain"]')
        page.goto(url + "/playground")
        main.get_by_test_id("pg-train-loss").wait_for(timeout=60_000)
        main.get_by_test_id("stExpander").filter(has_text="Inspect a weight").locator("summary").click()
        layers_agree(page, main, 2)
        for label, want in (("➖", 1), ("➖", 0), ("➕", 1), ("➕", 2), ("➖", 1), ("➖", 0), ("➕", 1)):
            main.get_by_role("button", name=label, exact=True).click()
            time.sleep(0.5)
            layers_agree(page, main, want)
        for label in ("➕", "➖", "➖", "➕"):  # quick clicks, as a hurried lecturer makes: 2, 1, 0, 1
            main.get_by_role("button", name=label, exact=True).click()
            time.sleep(0.3)
        time.sleep(1)
        layers_agree(page, main, 1)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "i20-playground-layers.png"))

"""The learning-rate finder in Chromium at 1366×768 on the Train page: the button under the learning-rate box starts a
search in a worker process, its panel comes into view with the curve, the four suggestions and the words, and
"Use <rate>" puts the rate in the learning-rate box."""
import os
from pathlib import Path

import pytest

from browser import ROOT, chromium_page, open_at, require_chromium, settle, streamlit_server

WIDTH, HEIGHT = 1366, 768  # a classroom projector
SHOTS = Path(os.environ.get("NNLAB_SHOTS", ROOT / "test-artifacts"))

require_chromium()


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"lrfind-{name}.png"))


def in_view(locator, part: float = 1.0) -> bool:
    """Whether `part` of the element (from its top) is on the screen without scrolling."""
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + part * box["height"] <= HEIGHT + 1


@pytest.mark.slow
def test_find_a_rate_then_use_it(tmp_path):
    ckpt = tmp_path / "checkpoints"
    ckpt.mkdir()
    with streamlit_server({"NNLAB_CHECKPOINTS": str(ckpt)}) as url, chromium_page(WIDTH, HEIGHT) as page:
        main = open_at(page, url + "/train", "Train")
        box = main.locator('input[aria-label="Learning rate"]')
        before = box.input_value()
        find = main.get_by_role("button", name="Find a learning rate").filter(visible=True)
        find.click()  # Playwright scrolls it into view first, as a user would

        panel = main.locator(".st-key-lrfind_panel")
        panel.wait_for(timeout=60_000)
        use = panel.get_by_role("button", name="Use ")
        use.wait_for(timeout=180_000)  # data, model and about 90 steps in a worker process
        settle(page)
        page.wait_for_timeout(800)  # the chart's last redraw
        shot(page, "found")
        chart = panel.locator('[data-testid="stVegaLiteChart"]')
        assert chart.count() == 1 and in_view(chart, 0.8), "the curve is on screen after the click"
        assert in_view(use), "Use is on screen with the curve"
        text = panel.inner_text()
        assert "Learning-rate finder" in text and ("rules" in text or "No rate" in text)
        assert not main.locator('[data-testid="stException"]').count()

        rate = use.inner_text().split()[-1]
        use.click()
        settle(page)
        page.wait_for_timeout(500)
        box = main.locator('input[aria-label="Learning rate"]')
        assert float(box.input_value()) == float(rate) != float(before), (box.input_value(), rate, before)
        assert panel.get_by_text(f"The learning-rate box holds {rate}").is_visible()
        box.scroll_into_view_if_needed()
        shot(page, "used")

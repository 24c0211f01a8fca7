"""Issue 20, item 5, in Chromium at 1366×768: while the NumPy network trains, Stop and the live charts
are on the screen without scrolling, and no button label is cut."""
import sys
from pathlib import Path

import pytest

from browser import ROOT, chromium_page, open_at, require_chromium, settle, streamlit_server

sys.path.insert(0, str(Path(__file__).parent))

ARTIFACTS = ROOT / "test-artifacts"
WIDTH, HEIGHT = 1366, 768

require_chromium()


def in_view(locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT + 1


def cut(locator) -> bool:
    """Whether the element's text is wider than the element shows (an ellipsis or a clip)."""
    return locator.evaluate("e => [e, ...e.querySelectorAll('*')].some(x => x.scrollWidth > x.clientWidth + 1)")


@pytest.mark.slow
def test_stop_and_the_live_charts_are_in_view_while_it_trains(tmp_path):
    ckpt = tmp_path / "checkpoints"
    ckpt.mkdir()
    with streamlit_server({"NNLAB_CHECKPOINTS": str(ckpt)}) as url, chromium_page(WIDTH, HEIGHT) as page:
        main = open_at(page, url + "/scratch", "A network from scratch")
        epochs = main.locator('input[aria-label="Epochs"]')
        epochs.fill("40")
        epochs.press("Enter")
        settle(page)
        train = main.get_by_role("button", name="Train", exact=True)
        compare = main.get_by_role("button", name="Compare activations (ReLU, tanh, sigmoid, linear)")
        assert in_view(train) and in_view(compare), "Train is at the top of the page"
        assert not cut(compare), "the Compare activations label is whole"
        compare.click()

        stop = main.get_by_role("button", name="Stop", exact=True)
        stop.wait_for(timeout=60_000)
        chart = main.locator('[data-testid="stVegaLiteChart"]').first
        chart.wait_for(timeout=120_000)  # after the first epoch
        page.wait_for_timeout(1500)  # the chart has drawn
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "i20-scratch-1366.png"))  # looked at: what the room sees
        assert stop.is_visible() and in_view(stop), "Stop is on the screen while it trains"
        assert in_view(chart), f"the live chart is on the screen while it trains: {chart.bounding_box()}"
        assert in_view(main.get_by_role("button", name="Edit settings")), "the settings folded away"
        stop.click()
        main.get_by_role("button", name="Train", exact=True).filter(visible=True).wait_for(timeout=60_000)
        settle(page)
        assert not main.locator('[data-testid="stException"]').count()

"""Issue 20, item 10 in Chromium: after drawing a digit on Classify, the prediction is in view at
1366×768 without scrolling (before: below the fold, under the preprocessing steps); the Anatomy table
at 1366×768 and 1920×1080, screenshots in test-artifacts/."""
import shutil

import pytest

from browser import ROOT, chromium_page, require_chromium, streamlit_server

require_chromium()

ARTIFACTS = ROOT / "test-artifacts"
CANVAS = ".st-key-classify_canvas"  # the drawable canvas's element (a component in its own shadow root)


def stroke(page, box, points):
    """A pen stroke through `points`, each a fraction (x, y) of the canvas."""
    x0, y0 = box["x"], box["y"]
    page.mouse.move(x0 + points[0][0] * box["width"], y0 + points[0][1] * box["height"])
    page.mouse.down()
    for fx, fy in points[1:]:
        page.mouse.move(x0 + fx * box["width"], y0 + fy * box["height"], steps=8)
    page.mouse.up()


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory):
    """One server for this module's three page views (each opens its own browser), its checkpoints a copy
    of the shipped run."""
    ckpt = tmp_path_factory.mktemp("pages") / "checkpoints"
    shutil.copytree(ROOT / "checkpoints" / "lenet-mnist-mini", ckpt / "lenet-mnist-mini")
    with streamlit_server({"NNLAB_CHECKPOINTS": str(ckpt)}) as address:
        yield address


@pytest.mark.slow
def test_a_drawn_digits_prediction_is_above_the_fold_at_1366(plain_server):
    url = plain_server
    with chromium_page(1366, 768) as page:
        main = page.locator('[data-testid="stMain"]')
        page.goto(url + "/classify")
        main.get_by_text("2 · Prediction").wait_for(timeout=60_000)
        main.get_by_text("Draw", exact=True).click()
        main.get_by_text("the prediction appears").wait_for(timeout=30_000)
        frame = page.locator(CANVAS)
        frame.wait_for(timeout=30_000)
        page.wait_for_timeout(1000)  # the component draws its canvas
        box = frame.bounding_box()
        assert box and box["y"] + box["height"] <= 768, box   # the whole canvas in view
        stroke(page, box, [(0.35, 0.2), (0.65, 0.2), (0.45, 0.85)])  # a 7
        value = main.get_by_test_id("stMetricValue").first
        value.wait_for(timeout=60_000)
        page.wait_for_timeout(1500)  # the rest of the page settles
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "i20-classify-1366.png"))
        scrolled = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollTop + window.scrollY")
        shown = value.bounding_box()
        label = main.get_by_test_id("stMetricLabel").first.inner_text()
        answer = value.inner_text().strip()
    assert scrolled == 0
    assert "Prediction" in label and answer
    assert shown and 0 <= shown["y"] and shown["y"] + shown["height"] <= 768, shown


@pytest.mark.slow
@pytest.mark.parametrize("width, height", [(1366, 768), (1920, 1080)])
def test_the_anatomy_table_at_both_sizes(width, height, plain_server):
    url = plain_server
    with chromium_page(width, height) as page:
        main = page.locator('[data-testid="stMain"]')
        page.goto(url + "/anatomy")
        main.get_by_text("Total parameters").wait_for(timeout=60_000)
        grid = main.get_by_test_id("stDataFrame").first
        grid.wait_for(timeout=30_000)
        page.wait_for_timeout(1500)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"i20-anatomy-{width}.png"))
        grid_box, main_box = grid.bounding_box(), main.bounding_box()
        # no sideways scrolling for LeNet: the grid's scroller is no wider than what it shows
        overflow = page.evaluate("""() => { const s = document.querySelector(
            '[data-testid=stDataFrame] .dvn-scroller'); return s ? s.scrollWidth - s.clientWidth : -1; }""")
    assert grid_box["x"] + grid_box["width"] <= main_box["x"] + main_box["width"] + 1
    assert overflow in (0, -1), overflow

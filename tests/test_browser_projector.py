"""The Feature projector in Chromium at 1366×768: open it on a tiny run, hover and click a point (its image,
top 5 and Grad-CAM appear), switch the method, move the epoch slider. Screenshots go to test-artifacts/."""
import pytest

import nets.runs.features_cache as features_cache
from browser import ROOT, chromium_page, open_at, require_chromium, settle, streamlit_server
from nets.inspect.projection import pca
from nets.runs import get_run
from nets.runs.features_cache import run_features, run_projection
from test_page_projector import projector_run

ARTIFACTS = ROOT / "test-artifacts"
TOOLTIP = "#vg-tooltip-element"

require_chromium()


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"projector-{name}.png"))


def find_point(page, box) -> tuple[float, float]:
    """A spot on the scatter where the hover tooltip appears (a point is under the mouse): the canvas
    draws the points, so the page is searched from the middle outwards."""
    cx, cy = box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.5
    for r in range(0, int(min(box["width"], box["height"]) * 0.45), 6):
        for dx, dy in ((r, 0), (-r, 0), (0, r), (0, -r), (r, r), (-r, -r), (r, -r), (-r, r)):
            page.mouse.move(cx + dx, cy + dy)
            page.wait_for_timeout(30)
            tip = page.locator(TOOLTIP)
            if tip.count() and tip.is_visible() and "true class" in tip.inner_text():
                return cx + dx, cy + dy
    raise AssertionError("no point found under the mouse")


@pytest.mark.parametrize("width,height", [(1366, 768)])
def test_hover_click_switch_and_epochs(tmp_path, monkeypatch, width, height):
    ckpt = tmp_path / "checkpoints"
    ckpt.mkdir()
    run = get_run(ckpt, projector_run(ckpt, monkeypatch))
    # t-SNE of 1,000 points costs tens of seconds here: a stand-in layout is stored where the page looks
    # for it (per weights file, method and parameters), so the switch reads it as a second visit would.
    with monkeypatch.context() as m:
        m.setattr(features_cache, "project", lambda x, method, **p: pca(x)[:, ::-1].copy())
        run_projection(run, "tsne", run_features(run), perplexity=30.0, seed=0)
    with streamlit_server({"NNLAB_CHECKPOINTS": str(ckpt)}) as url, chromium_page(width, height) as page:
        main = open_at(page, url + "/projector", "Feature projector")
        chart = main.locator('[data-testid="stVegaLiteChart"]').first
        chart.wait_for(timeout=60_000)
        box = chart.bounding_box()
        assert box["height"] >= 420 and box["width"] >= 0.45 * width  # the scatter is most of the page
        x, y = find_point(page, box)
        tip = page.locator(TOOLTIP)
        img = tip.locator("img")
        assert img.count() == 1 and img.get_attribute("src").startswith("data:image/png")
        assert img.bounding_box()["width"] >= 120  # the image is visible, enlarged
        shot(page, "hover")
        page.mouse.click(x, y)
        settle(page)
        main.get_by_text("Test image #").first.wait_for(timeout=60_000)
        main.get_by_text("Grad-CAM for").first.wait_for(timeout=60_000)
        main.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=60_000)  # the top 5
        shot(page, "clicked")
        main.get_by_text("t-SNE", exact=True).first.click()
        settle(page)
        main.get_by_text("Perplexity").first.wait_for(timeout=60_000)
        assert main.locator('[data-testid="stException"]').count() == 0
        slider = main.locator('[data-testid="stSlider"]').filter(has_text="Epoch").get_by_role("slider")
        slider.scroll_into_view_if_needed()
        assert slider.get_attribute("aria-valuetext") == "3"
        slider.focus()
        page.keyboard.press("ArrowLeft")
        settle(page)
        main.get_by_text("kNN purity at epoch 2").wait_for(timeout=60_000)
        shot(page, "epochs")
        assert main.locator('[data-testid="stException"]').count() == 0

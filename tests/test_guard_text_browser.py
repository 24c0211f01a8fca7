"""Issue 19, item 7 in a real browser at projector size: a lesson link whose value is Markdown (a
phishing link and a tracking image) shows its text in the warning; no link, no image, no request
to the attacker's host. A run named with Markdown shows as text on Runs."""
import sys
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from browser import ROOT, chromium_page, require_chromium, settle, streamlit_server

sys.path.insert(0, str(Path(__file__).parent))
from pagetools import tiny_run  # noqa: E402

from nets.runs import get_run, update_run  # noqa: E402
from nets.text import WORD_JOINER  # noqa: E402

ARTIFACTS = ROOT / "test-artifacts"
WIDTH, HEIGHT = 1366, 768
ATTACKER = "example.invalid"
PHISH = ("**Session expired.** [Sign in again here](http://example.invalid/phish) "
         "![b](http://example.invalid/beacon.png)")
MARKUP_NAME = "**bold** [x](http://example.invalid)"

require_chromium()


def no_markup_from(page) -> None:
    """Nothing on the page links to or loads from the attacker's host."""
    assert page.locator(f'a[href*="{ATTACKER}"]').count() == 0
    assert page.locator(f'img[src*="{ATTACKER}"]').count() == 0


@pytest.mark.slow
def test_the_markup_lesson_link_and_a_markup_run_name_show_as_text(tmp_path):
    ckpt = tmp_path / "checkpoints"
    run = get_run(ckpt, tiny_run(ckpt, "plain"))
    update_run(run, name=MARKUP_NAME)
    requests = []
    with streamlit_server({"NNLAB_CHECKPOINTS": str(ckpt)}) as url, chromium_page(WIDTH, HEIGHT) as page:
        page.on("request", lambda r: requests.append(r.url))
        page.route(f"**://{ATTACKER}/**", lambda route: route.abort())  # recorded above, never sent
        main = page.locator('[data-testid="stMain"]')
        page.goto(f"{url}/train?lesson=1&lr={quote(PHISH)}")
        warning = main.locator('[data-testid="stAlert"]').filter(has_text="This link had problems")
        warning.wait_for(timeout=60_000)
        settle(page)
        text = warning.inner_text().replace(WORD_JOINER, "")  # the invisible joiner that keeps addresses unlinked
        assert "**Session expired.**" in text
        assert "[Sign in again here](http://example.invalid/phish)" in text
        assert warning.locator("a, img, strong").count() == 0
        no_markup_from(page)
        warning.scroll_into_view_if_needed()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "guard-markup-link.png"))

        page.goto(f"{url}/runs")
        title = main.locator('[data-testid="stMarkdownContainer"]').filter(has_text="**bold** [x](http:")
        title.first.wait_for(timeout=60_000)  # the title above the run's confusion matrix, as typed
        assert title.first.inner_text().replace(WORD_JOINER, "") == MARKUP_NAME
        settle(page)
        no_markup_from(page)
        title.first.screenshot(path=str(ARTIFACTS / "guard-markup-run-name.png"))
    assert requests and not [r for r in requests if urlsplit(r).hostname == ATTACKER]

"""Issue 20, item 4: a fresh server's very first page load never lists the internal modules of
pages/ (app, common, export, sidebar, widgets, train form, train live) as pages, in Chromium at
1366×768. Before the fix the sidebar showed them for about 3.6 s beside an empty page."""
import pytest

from browser import ROOT, chromium_page, require_chromium, streamlit_server

require_chromium()

# every page app.py lists, as the sidebar names it; the legacy pages/ listing names files instead
TITLES = {"Home", "Playground", "Server", "Train", "Build a network", "Runs", "Data lab", "Speed lab", "Predictions", "Anatomy",
          "Classify an image", "Feature projector",
          "Pretrained ResNets", "Activation maps and Grad-CAM", "Augmentation preview", "Forward pass",
          "XOR logic network", "Convolution arithmetic", "Cross-entropy and KL", "NumPy network"}
INTERNAL = {"app", "common", "export", "sidebar", "widgets", "train form", "train live"}

# Records, from the first paint on, every page name the sidebar's navigation shows and every line of
# sidebar text: on each change of the document (a MutationObserver) and every 100 ms besides.
RECORDER = """
window.__navSeen = new Set(); window.__sidebarLines = new Set();
const look = () => {
  for (const a of document.querySelectorAll('[data-testid="stSidebarNav"] a')) {
    window.__navSeen.add(a.innerText.replace(/\\s+/g, ' ').trim());
  }
  const bar = document.querySelector('[data-testid="stSidebar"]');
  if (bar) for (const line of bar.innerText.split('\\n')) window.__sidebarLines.add(line.trim());
};
new MutationObserver(look).observe(document, {subtree: true, childList: true, characterData: true});
setInterval(look, 100);
"""


def nav_label(text: str) -> str:
    """'🏠 Home' → 'Home': the link's text is its icon, then its title."""
    return text.split(" ", 1)[1] if text and not text[0].isascii() and " " in text else text


@pytest.mark.slow
@pytest.mark.parametrize("path", ["", "/train?model=lenet"])
def test_a_fresh_server_never_lists_internal_modules(path):
    """The first page view of a fresh server, at / and as a deep link: the sidebar never shows a file
    of pages/ as a page, and ends with the app's own navigation."""
    with streamlit_server() as url, chromium_page(1366, 768) as page:
        page.add_init_script(RECORDER)
        page.goto(url + path, wait_until="commit")  # right after /_stcore/health answered
        main = page.locator('[data-testid="stMain"]')
        landmark = "Start here" if not path else "Train and compare"
        (main.get_by_text("Start here") if not path else
         main.get_by_role("heading", name="Train")).first.wait_for(timeout=60_000)
        page.get_by_test_id("stSidebarNav").get_by_text("Train and compare").wait_for(timeout=30_000)
        page.wait_for_timeout(300)  # one more round of the 100 ms poll after the page is there
        seen = {nav_label(t) for t in page.evaluate("[...window.__navSeen]")}
        lines = {t.lower() for t in page.evaluate("[...window.__sidebarLines]")}
        if not path:
            ROOT.joinpath("test-artifacts").mkdir(exist_ok=True)
            page.screenshot(path=str(ROOT / "test-artifacts" / "i20-coldstart.png"))
    assert landmark
    assert seen and seen <= TITLES, f"the sidebar listed {sorted(seen - TITLES)} as pages"
    assert not lines & INTERNAL, f"the sidebar showed {sorted(lines & INTERNAL)}"
    assert seen == TITLES  # the whole navigation, every section expanded

"""A term's worth of runs in a real browser: 2,000 saved runs, found on Runs and Predictions by
searching, paged, and the pages as quick as with one run (times printed, not asserted)."""
import time

import pytest

from bench_runstore import SHIPPED, fill
from browser import ROOT, chromium_page, require_chromium, streamlit_server

ARTIFACTS = ROOT / "test-artifacts"
RUNS = 2000

require_chromium()


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


@pytest.mark.slow
@pytest.mark.parametrize("width,height", [(1366, 768), (1920, 1080)])
def test_find_a_run_among_thousands(tmp_path, width, height):
    ckpt = tmp_path / "checkpoints"
    ckpt.mkdir()
    fill(ckpt, RUNS, ROOT / "checkpoints" / SHIPPED)  # no index yet: the server builds it on first use
    with streamlit_server({"NNLAB_CHECKPOINTS": str(ckpt)}) as url, chromium_page(width, height) as page:
        main = page.locator('[data-testid="stMain"]')
        nav = page.get_by_test_id("stSidebarNavItems")
        page.goto(url)
        main.get_by_text("Start here").wait_for(timeout=60_000)
        main.get_by_text(f"The 8 most recent of {RUNS:,}").wait_for(timeout=60_000)
        shot(page, f"runstore-0-home-{width}")

        t = time.perf_counter()
        nav.get_by_role("link", name="Runs").click()
        main.get_by_text(f"Rows 1–50 of {RUNS:,}").wait_for(timeout=60_000)
        main.get_by_role("button", name="Page 40", exact=True).wait_for(timeout=30_000)
        print(f"Runs with {RUNS} runs: {time.perf_counter() - t:.2f} s")
        shot(page, f"runstore-1-runs-{width}")

        search = main.get_by_role("textbox", name="Search")
        t = time.perf_counter()
        search.fill("try 1999")
        search.press("Enter")
        main.get_by_text("Rows 1–1 of 1").wait_for(timeout=30_000)
        main.get_by_test_id("stPagination").wait_for(state="detached", timeout=30_000)  # one page: no pager
        print(f"search: {time.perf_counter() - t:.2f} s")
        assert "lenet · student 19 · try 1999" in main.inner_text()
        shot(page, f"runstore-2-search-{width}")

        search.fill("")
        search.press("Enter")
        main.get_by_text(f"Rows 1–50 of {RUNS:,}").wait_for(timeout=30_000)
        t = time.perf_counter()
        main.get_by_role("button", name="Page 2", exact=True).click()
        main.get_by_text(f"Rows 51–100 of {RUNS:,}").wait_for(timeout=30_000)
        print(f"page 2: {time.perf_counter() - t:.2f} s")

        t = time.perf_counter()
        nav.get_by_role("link", name="Predictions").click()
        main.get_by_text("matching runs; type in the search box").wait_for(timeout=60_000)
        picker_search = main.get_by_role("textbox", name="Search runs")
        picker_search.fill("lenet-mnist-mini")
        picker_search.press("Enter")
        page.wait_for_function("() => [...document.querySelectorAll('[data-testid=stMetricValue]')]"
                               ".some(e => e.innerText.trim() === '96.1%')", timeout=60_000)
        print(f"Predictions, search for the shipped run: {time.perf_counter() - t:.2f} s")
        shot(page, f"runstore-3-predictions-{width}")

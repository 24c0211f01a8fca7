"""The Playground as a student sees it: heat-map updates per second while playing, and the time from
Step to the next epoch on screen, in Chromium (prints figures; not a test).

    python tests/bench_playground_browser.py 1366 768
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import chromium_page, streamlit_server  # noqa: E402

W, H = (int(sys.argv[1]), int(sys.argv[2])) if len(sys.argv) > 2 else (1366, 768)
with streamlit_server() as url, chromium_page(W, H) as page:
    main = page.locator('[data-testid="stMain"]')
    page.goto(url + "/playground")
    main.get_by_text("Training loss").wait_for(timeout=60_000)
    heat = main.get_by_test_id("stImage").nth(1).locator("img")
    main.get_by_role("button", name="▶ Play").click()
    main.get_by_role("button", name="⏸ Pause").wait_for(timeout=30_000)
    time.sleep(2)
    changes, last, t0 = 0, heat.get_attribute("src"), time.time()
    while time.time() - t0 < 10:
        src = page.evaluate("() => document.querySelectorAll('[data-testid=stMain] [data-testid=stImage] img')[1].src")
        if src != last:
            changes += 1; last = src
        time.sleep(0.02)
    print(f"{W}x{H}: {changes} heat-map updates in 10 s = {changes/10:.1f}/s")
    t = time.time()
    main.get_by_role("button", name="⏸ Pause").click()
    main.get_by_role("button", name="▶ Play").wait_for(timeout=30_000)
    ep = main.get_by_test_id("stMetric").filter(has_text="Epoch").get_by_test_id("stMetricValue").inner_text()
    t = time.time()
    main.get_by_role("button", name="Step").click()
    page.wait_for_function(f"() => [...document.querySelectorAll('[data-testid=stMetricValue]')].some(e => e.innerText.trim() === '{int(ep)+1}')", timeout=30000)
    print(f"Step: epoch {ep} -> {int(ep)+1} shown {time.time()-t:.2f} s after the click")

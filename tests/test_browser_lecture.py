"""The live lecture in a real browser at projector size: Train → watch → Stop/outcome → doctor → Runs."""
import hashlib
import re
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from browser import ROOT, chromium_page, open_at, require_chromium, settle, streamlit_server

sys.path.insert(0, str(Path(__file__).parent))
from pagetools import tiny_run  # noqa: E402

from nets.engine.config import TrainConfig  # noqa: E402
from nets.link.inside import BY_KEY, OUTCOMES  # noqa: E402
from nets.link.train import encode  # noqa: E402

ARTIFACTS = ROOT / "test-artifacts"
WIDTH, HEIGHT = 1366, 768  # a classroom projector

require_chromium()


def shot(page, name, full=False):
    """The viewport as the room sees it; `full`: the whole page, by making the viewport as tall as
    the page for the shot (Streamlit scrolls its own container, so full_page alone shows one screen)."""
    ARTIFACTS.mkdir(exist_ok=True)
    if full:
        height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
        page.set_viewport_size({"width": WIDTH, "height": max(HEIGHT, min(int(height) + 100, 6000))})
        page.wait_for_timeout(700)  # the charts redrawn at the new width
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    if full:  # back to the projector; the next action's own wait covers the relayout
        page.set_viewport_size({"width": WIDTH, "height": HEIGHT})


def in_view(locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT + 1


def number(main, label: str, value) -> None:
    box = main.locator(f'input[aria-label="{label}"]')
    box.fill(str(value))
    box.press("Enter")


def to_top(main) -> None:
    """Back to the page's top, as a lecturer scrolls up to press Train (Streamlit scrolls its own
    container, not the window)."""
    main.get_by_role("heading", name="Train").first.scroll_into_view_if_needed()


@pytest.fixture(scope="module")
def lecture_url(tmp_path_factory):
    """One server for the three lectures that use worker processes (a start costs ~6 s): its checkpoints hold
    four tiny runs (sgd/adam × ce/mse) and the shipped LeNet run, for the Runs page's test, which goes first."""
    ckpt = tmp_path_factory.mktemp("lecture") / "checkpoints"
    ckpt.mkdir()
    for optimizer, lr in (("sgd", 0.05), ("adam", 0.001)):
        for loss in ("ce", "mse"):
            tiny_run(ckpt, "", optimizer=optimizer, lr=lr, loss=loss)
    shutil.copytree(ROOT / "checkpoints" / "lenet-mnist-mini", ckpt / "lenet-mnist-mini")
    with streamlit_server({"NNLAB_CHECKPOINTS": str(ckpt)}) as url:
        yield url


@pytest.mark.slow
def test_runs_page_compares_four_runs_and_shows_counts(lecture_url):
    """First in the module: its four tiny runs must be the newest on Runs (the tests after it add runs)."""
    with chromium_page(WIDTH, HEIGHT) as page:
        url = lecture_url
        main = open_at(page, url + "/runs", "Runs")
        grid = main.locator('[data-testid="stDataFrame"]').first
        box = grid.bounding_box()
        for row in range(1, 4):  # the newest run is selected already: tick the other three tiny runs
            page.mouse.click(box["x"] + 14, box["y"] + 35 * (row + 1) + 17)
            settle(page)
        main.locator('[data-testid="stVegaLiteChart"]').nth(5).wait_for(timeout=60_000)
        settle(page)
        shot(page, "lecture-5-runs-four", full=True)
        main.get_by_text("Rows as fractions").click()
        settle(page)
        assert not main.locator('[data-testid="stException"]').count()
        shot(page, "lecture-6-runs-counts", full=True)


@pytest.mark.slow
def test_train_watch_and_fix_at_projector_size(lecture_url):
    url = lecture_url
    with chromium_page(WIDTH, HEIGHT) as page:
        main = open_at(page, url + "/train", "Train")
        number(main, "Epochs", 1000)  # still training when the watching ends, however fast the machine: Stop ends it
        settle(page)
        to_top(main)
        train = main.get_by_role("button", name="Train", exact=True).filter(visible=True)
        assert in_view(train), "Train is at the top of the page, where the lecturer looks"
        train.click()

        # The live panel takes the top of the screen: nothing to scroll to.
        stop = main.get_by_role("button", name="Stop", exact=True).filter(visible=True)
        stop.wait_for(timeout=30_000)
        charts = main.locator('[data-testid="stVegaLiteChart"]')
        charts.first.wait_for(timeout=30_000)
        progress = main.locator('[data-testid="stProgress"]').first
        seen, changes, t0 = set(), 0, time.time()
        first = charts.first
        # Five changes are the proof; the 1000 epochs outlast the watching on any machine. Not `while
        # stop.count()`: a count looks at one instant, and the Stop below waits for the button instead.
        while changes < 5 and time.time() - t0 < 120:
            try:
                digest = hashlib.md5(first.screenshot(timeout=5_000)).hexdigest()
            except Exception:  # the panel was redrawn between finding and shooting it
                continue
            if digest not in seen:
                seen.add(digest)
                changes += 1
            if changes == 3:
                shot(page, "lecture-1-train-mid-run")
                assert in_view(stop) and in_view(progress) and in_view(charts.nth(2)), \
                    "the live panel is in view at 1366×768 without scrolling"
            page.wait_for_timeout(400)
        assert changes >= 5, f"the loss chart changed only {changes} times during the run"
        stop.click()  # still training (click waits for Stop): the lecturer has seen enough, and the outcome says so
        main.get_by_text("Stopped").first.wait_for(timeout=60_000)
        settle(page)

        # A run that ends by itself (one epoch: the watched one is not waited out) tells so.
        main.get_by_role("button", name="Edit settings").click()
        settle(page)
        number(main, "Epochs", 1)
        settle(page)
        to_top(main)
        main.get_by_role("button", name="Train", exact=True).filter(visible=True).click()
        main.get_by_text("Completed all").first.wait_for(timeout=120_000)
        settle(page)
        shot(page, "lecture-2-finished")

        # A diverging run: the outcome tells the truth and the doctor's fix changes the visible control.
        main.get_by_role("button", name="Edit settings").click()
        settle(page)
        number(main, "Learning rate", 1000)
        number(main, "Epochs", 2)
        settle(page)
        to_top(main)
        main.get_by_role("button", name="Train", exact=True).filter(visible=True).click()
        retry = main.get_by_role("button", name="Retry with").filter(visible=True).first
        retry.wait_for(timeout=120_000)
        settle(page)
        shot(page, "lecture-3-diverged")
        text = main.inner_text()
        assert "best model before that point was kept" not in text or "no model" not in text
        label = retry.inner_text()
        proposed = label.rsplit(" ", 1)[1]
        retry.click()
        settle(page)
        lr = main.locator('input[aria-label="Learning rate"]')
        lr.wait_for(timeout=30_000)
        assert float(lr.input_value()) == float(proposed), (label, lr.input_value())
        number(main, "Learning rate", 0.02)  # the next value typed is kept, not thrown away
        settle(page)
        number(main, "Epochs", 1)
        settle(page)
        assert float(main.locator('input[aria-label="Learning rate"]').input_value()) == 0.02
        shot(page, "lecture-4-doctor-fix", full=True)


@pytest.mark.slow
def test_a_refresh_after_a_page_switch_finds_your_running_job(lecture_url):
    """The identity (here a laptop's: no password) and the job survive a page switch and F5."""
    url = lecture_url
    with chromium_page(WIDTH, HEIGHT) as page:
        main, nav = page.locator('[data-testid="stMain"]'), page.get_by_test_id("stSidebarNavItems")
        page.goto(url + "/train")
        main.get_by_role("heading", name="Train").first.wait_for(timeout=60_000)
        settle(page)
        number(main, "Epochs", 1000)
        settle(page)
        to_top(main)
        main.get_by_role("button", name="Train", exact=True).filter(visible=True).click()
        stop = main.get_by_role("button", name="Stop", exact=True).filter(visible=True)
        stop.wait_for(timeout=60_000)
        label = main.locator("strong").filter(has_text="lenet · mnist-mini").first.inner_text()
        nav.get_by_role("link", name="Runs", exact=True).click()
        main.get_by_role("heading", name="Runs").first.wait_for(timeout=60_000)
        nav.get_by_role("link", name="Train", exact=True).click()
        stop.wait_for(timeout=60_000)
        page.reload()  # F5: a new session, the same URL
        stop.wait_for(timeout=60_000)
        assert main.get_by_text(label).first.is_visible()
        shot(page, "lecture-7-after-refresh")
        stop.click()
        main.get_by_text("Stopped").first.wait_for(timeout=60_000)


@pytest.mark.slow
def test_the_sigmoid_mlp_flags_vanishing_gradients_with_stop_and_the_loss_in_view(tmp_path):
    """Inside training at 1366×768: the 10-layer sigmoid MLP lesson (statistics every 5 steps), a
    prediction, Train, the Inside charts; the vanishing-gradient caption and the lesson's answer appear
    while Stop, the caption and the loss chart stay on screen."""
    lesson = BY_KEY["deep-sigmoid"]
    cfg = replace(lesson.cfg, epochs=20)  # still training when the finding comes (at step 10), on any machine
    ckpt = tmp_path / "checkpoints"
    ckpt.mkdir()
    # the thread backend: no worker process to start (the lecture test above drives the process one)
    env = {"NNLAB_CHECKPOINTS": str(ckpt), "NNLAB_JOB_BACKEND": "thread"}
    with streamlit_server(env) as url, chromium_page(WIDTH, HEIGHT) as page:
        main = open_at(page, url + "/train" + encode(cfg, lesson.locked, inside=lesson.key), "Train")
        main.get_by_text(OUTCOMES["vanishing"]).click()  # the prediction, before Train
        to_top(main)
        main.get_by_role("button", name="Train", exact=True).filter(visible=True).click()
        stop = main.get_by_role("button", name="Stop", exact=True).filter(visible=True)
        stop.wait_for(timeout=30_000)
        main.get_by_text("Inside the network", exact=True).first.click()
        caption = main.get_by_text(re.compile("🩺 vanishing gradients")).first  # the progress text's 2nd line
        caption.wait_for(timeout=60_000)
        answer = main.get_by_text(re.compile("You predicted this: well done")).first
        answer.wait_for(timeout=30_000)
        charts = main.locator('[data-testid="stVegaLiteChart"]')
        charts.nth(2).wait_for(timeout=30_000)
        page.wait_for_timeout(800)  # the charts drawn
        shots = Path("/tmp/shots23")
        shots.mkdir(exist_ok=True)
        page.screenshot(path=str(shots / "browser-inside-lesson.png"))
        assert in_view(stop) and in_view(caption) and in_view(answer), "Stop, the finding and the answer"
        assert in_view(charts.first), "the loss chart"
        assert charts.nth(1).bounding_box()["y"] < HEIGHT / 2, "the Inside charts beside the loss"
        stop.click()

"""Issue 20, item 6, in Chromium at 1366×768: the Runs table shows the status column and the end of each
long name (the part that tells runs made from one preset apart)."""
import pytest

from browser import ROOT, chromium_page, require_chromium, streamlit_server
from nets.engine.config import TrainConfig
from nets.runs import create_run
from nets.runs.table import NAME_CHARS

ARTIFACTS = ROOT / "test-artifacts"
PRESET = "lenet · mnist-mini · a preset name shared by the class · "
TAILS = ("sgd lr 0.01 · cross-entropy #5", "adam lr 0.01 · squared error #6", "sgd lr 1000 · cross-entropy #7")

require_chromium()


@pytest.mark.slow
def test_the_runs_table_shows_status_and_the_end_of_long_names(tmp_path):
    ckpt = tmp_path / "checkpoints"
    for i, (tail, status) in enumerate(zip(TAILS, ("completed", "running", "failed"))):
        cfg = TrainConfig(dataset="mnist-mini", model="mlp", hidden=(16,), name=PRESET + tail)
        info = {"status": status, "created": f"2026-01-01 1{i}:00:00"}
        if status == "completed":
            info["test"] = {"accuracy": 0.924, "loss": 0.3}
        create_run(ckpt, cfg, info, run_id=f"run-{i}")
    with streamlit_server({"NNLAB_CHECKPOINTS": str(ckpt)}) as url, chromium_page(1366, 768) as page:
        page.goto(url + "/runs")
        grid = page.locator('[data-testid="stDataFrame"]').first
        grid.wait_for(timeout=60_000)
        page.wait_for_timeout(2000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "i20-runs-1366.png"))
        # The grid keeps an accessible copy of the cells it draws: only the columns on the screen.
        headers = grid.evaluate("e => [...e.querySelectorAll('th')].map(x => x.innerText.trim())")
        assert headers[:4] == ["name", "⭐", "test accuracy", "status"] and "owner" not in headers
        names = grid.evaluate("e => [...e.querySelectorAll('td[aria-colindex=\"1\"]')].map(x => x.innerText.trim())")
        # each name as the column shows it: short enough for its width, ending with what tells it apart
        assert all(n.endswith(t) and len(n) <= NAME_CHARS for n, t in zip(names, reversed(TAILS))) and len(names) == 3
        statuses = grid.evaluate("e => [...e.querySelectorAll('td[aria-colindex=\"4\"]')].map(x => x.innerText.trim())")
        assert statuses == ["failed", "running", "completed"]

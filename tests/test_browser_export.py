"""Every export of the Runs page in a real browser at projector size: the shipped run in all six
formats, then a four-run group in CSV, the report and TensorBoard (W&B's four-run group, a ~10 s child
process, is checked without a browser in tests/test_export_wandb.py). Each file is checked for its
kind; sizes and click-to-download times are printed, not asserted."""
import csv
import io
import shutil
import time
import zipfile
from pathlib import Path

import pytest

from browser import ROOT, chromium_page, open_at, require_chromium, settle, streamlit_server

ARTIFACTS = ROOT / "test-artifacts"
SHIPPED = "lenet-mnist-mini"

require_chromium()


def shot(page, name, width=1366) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"export-{name}{'' if width == 1366 else f'-{width}'}.png"))


def four_run_group(ckpt) -> list[str]:
    from nets.engine.config import TrainConfig
    from nets.experiment import run_four_configs
    base = TrainConfig(dataset="mnist-mini", model="mlp", hidden=(16,), train_per_class=20, epochs=1)
    return [r.run_id for r in run_four_configs(base, checkpoints=ckpt)]


def search(page, main, text: str, rows: int) -> None:
    box = main.get_by_role("textbox", name="Search")
    box.fill(text)
    box.press("Enter")
    main.get_by_text(f"Rows 1–{rows} of {rows}").wait_for(timeout=60_000)
    settle(page)


def download(page, main, key: str, sizes: dict, what: str, started: float | None = None) -> bytes:
    """Click the download button with this key; the file's bytes. The time runs from `started`
    (a Prepare click) or from this click, to the browser having the whole file."""
    button = main.locator(f".st-key-{key} button")
    button.wait_for(timeout=120_000)
    button.scroll_into_view_if_needed()
    t = time.perf_counter()
    with page.expect_download(timeout=120_000) as event:
        button.click()
    data = Path(event.value.path()).read_bytes()
    took = time.perf_counter() - (started or t)
    sizes[what] = (event.value.suggested_filename, len(data), took)
    print(f"{what}: {event.value.suggested_filename}, {len(data):,} bytes, {took:.2f} s from click to download")
    assert data, what
    return data


def prepare(page, main, fmt: str, sizes: dict, what: str) -> bytes:
    """Prepare (spinner), then download; the time covers both clicks."""
    button = main.locator(f".st-key-export_{fmt}_prepare button")
    button.scroll_into_view_if_needed()
    t = time.perf_counter()
    button.click()
    main.locator(f".st-key-export_{fmt}_download button").wait_for(timeout=120_000)
    return download(page, main, f"export_{fmt}_download", sizes, what, started=t)


def names(data: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(data)).namelist()


def check_csv(data: bytes, runs: int) -> None:
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    assert list(rows[0])[:3] == ["run_id", "run", "dataset"] and "test_acc" in rows[0]
    assert len({r["run_id"] for r in rows}) == runs


def check_wandb(data: bytes, runs: int) -> None:
    files = names(data)
    assert any(f.endswith("README.txt") for f in files)
    assert len({f.split("/")[2] for f in files if "/wandb/offline-run-" in f}) == runs


def check_tensorboard(data: bytes, runs: int) -> None:
    events = [f for f in names(data) if "events.out.tfevents" in f]
    assert len({f.split("/")[1] for f in events}) == runs


@pytest.mark.slow
@pytest.mark.parametrize("width,height", [(1366, 768)])  # the projector's, the tighter layout; 1920×1080 is
def test_every_export_through_the_page(tmp_path, width, height):  # walked by hand (the suite's 15 minutes)
    for module in ("onnx", "onnxscript", "wandb", "tensorboard"):  # requirements-export.txt
        pytest.importorskip(module)
    ckpt = tmp_path / "checkpoints"
    ckpt.mkdir()
    shutil.copytree(ROOT / "checkpoints" / SHIPPED, ckpt / SHIPPED)
    group = four_run_group(ckpt)
    sizes: dict = {}
    with streamlit_server({"NNLAB_CHECKPOINTS": str(ckpt)}) as url, chromium_page(width, height) as page:
        main = open_at(page, url + "/runs", "Runs")

        # ---- the shipped run, every format
        search(page, main, SHIPPED, 1)
        heading = main.get_by_role("heading", name="Export")
        heading.scroll_into_view_if_needed()
        settle(page)
        shot(page, "1-shipped-section", width)
        code = download(page, main, "export_code", sizes, "code zip")
        assert f"{SHIPPED}/model.py" in names(code) and f"{SHIPPED}/predict.py" in names(code)
        check_csv(download(page, main, "export_csv", sizes, "CSV"), 1)
        report = download(page, main, "export_report", sizes, "report")
        assert report.startswith(b"<!DOCTYPE html>") and b"print" in report
        onnx_bytes = prepare(page, main, "onnx", sizes, "ONNX")
        import onnx
        assert onnx.load_from_string(onnx_bytes).graph.output[0].name == "logits"
        check_wandb(prepare(page, main, "wandb", sizes, "W&B"), 1)
        check_tensorboard(prepare(page, main, "tensorboard", sizes, "TensorBoard"), 1)
        settle(page)
        assert not main.locator('[data-testid="stException"]').count()
        assert main.get_by_text("wandb sync wandb").count() and main.get_by_text("tensorboard --logdir nnlab").count()
        heading.scroll_into_view_if_needed()
        shot(page, "2-shipped-ready", width)

        # ---- the four-run group: search keeps only them, the first is selected; tick the other three
        search(page, main, "20/class", 4)
        grid = main.locator('[data-testid="stDataFrame"]').first
        grid.scroll_into_view_if_needed()
        box = grid.bounding_box()
        for row in range(1, 4):
            page.mouse.click(box["x"] + 14, box["y"] + 35 * (row + 1) + 17)
            settle(page)
        main.get_by_text("All 4 selected runs together").wait_for(timeout=60_000)
        main.get_by_role("heading", name="Export").scroll_into_view_if_needed()
        settle(page)
        shot(page, "3-group-section", width)
        check_csv(download(page, main, "export_csv", sizes, "CSV, 4 runs"), 4)
        report = download(page, main, "export_report", sizes, "report, 4 runs")
        assert report.startswith(b"<!DOCTYPE html>") and all(r.encode() in report for r in group)
        check_tensorboard(prepare(page, main, "tensorboard", sizes, "TensorBoard, 4 runs"), 4)
        settle(page)
        assert not main.locator('[data-testid="stException"]').count()
        main.get_by_role("heading", name="Export").scroll_into_view_if_needed()
        shot(page, "4-group-ready", width)
    print("\n".join(f"{what:22} {name:60} {size / 1024:9.1f} KB {took:6.2f} s"
                    for what, (name, size, took) in sizes.items()))

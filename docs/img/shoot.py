"""Make README.md's screenshots again: the real app in Chromium at 1366×768, scaled to half size.

    python docs/img/shoot.py

Starts the app on a free port with throw-away checkpoint and data folders (tests/browser.py), opens
Home, then trains LeNet on the bundled digits for 2 epochs on the Train page, and writes
docs/img/home.png and docs/img/train.png.
"""
import sys
import tempfile
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "tests"))
from browser import chromium_page, streamlit_server  # noqa: E402


def save(page, name: str) -> None:
    path = HERE / f"{name}.png"
    page.screenshot(path=str(path))
    image = Image.open(path).convert("RGB")
    image.resize((image.width // 2, image.height // 2), Image.LANCZOS).save(path, optimize=True)
    print(f"{path}: {path.stat().st_size // 1024} KB")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {"NNLAB_CHECKPOINTS": f"{tmp}/checkpoints", "NNLAB_DATA_DIR": f"{tmp}/data"}
        with streamlit_server(env) as url, chromium_page(1366, 768) as page:
            main = page.locator('[data-testid="stMain"]')
            page.goto(url)
            main.get_by_text("Start here").wait_for(timeout=60_000)
            page.wait_for_timeout(1500)
            save(page, "home")
            page.goto(url + "/train?dataset=mnist-mini&model=lenet")
            main.get_by_role("heading", name="Train").first.wait_for(timeout=60_000)
            epochs = main.get_by_role("spinbutton", name="Epochs", exact=True)
            epochs.fill("2")
            epochs.press("Enter")
            page.wait_for_timeout(800)
            main.get_by_role("button", name="Train", exact=True).click()
            main.get_by_text("Completed all 2 epochs").wait_for(timeout=180_000)
            page.wait_for_timeout(2000)
            save(page, "train")


if __name__ == "__main__":
    main()

"""Issue 19's attacks tried again in Chromium, as a class would meet them: a classroom server (lecturer
password and class code), alice training, mallory trying to take her name, read the server's folders,
book the machine, phish the class, replace the ImageNet weights; the lecturer surviving a refresh.
A script that prints each step's time and saves screenshots (test-artifacts/hostile-*.png):

    python tests/walk_hostile.py 1366 768
"""
from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).parent))
from browser import CHROMIUM, CHROMIUM_ARGS, ROOT, streamlit_server  # noqa: E402

PASSWORD, CODE = "a long lecturer password", "owl42"
ARTIFACTS = ROOT / "test-artifacts"
PHISH = ("**Session expired.** [Sign in again here](http://example.invalid/phish) "
         "![b](http://example.invalid/beacon.png)")
steps: list[tuple[str, float, str]] = []


def settle(page) -> None:
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=120_000)
    page.wait_for_timeout(200)


def step(name: str, page, action, shot: str | None = None) -> str:
    start = time.perf_counter()
    verdict = action()
    verdict = verdict if isinstance(verdict, str) else ""
    settle(page)
    seconds = time.perf_counter() - start
    if shot:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"hostile-{shot}-{page.viewport_size['width']}.png"))
    steps.append((name, seconds, verdict))
    print(f"{seconds:6.2f} s  {name}: {verdict}", flush=True)
    return verdict


def with_session(url: str, page_url: str, params: dict) -> str:
    """`url`'s page with `params` and the session parameters (token, lecturer) the tab's URL holds."""
    held = {k: v for k, v in parse_qsl(urlsplit(page_url).query) if k in ("token", "lecturer", "me")}
    return f"{url}?{urlencode({**params, **held})}"


def sign_in(page, name: str, phrase: str) -> str:
    bar = page.locator('[data-testid="stSidebar"]')
    bar.locator('input[aria-label="Your name"]').fill(name)
    bar.locator('input[aria-label="Class code"]').fill(CODE)
    bar.locator('input[aria-label="Your passphrase"]').fill(phrase)
    bar.get_by_role("button", name="Sign in").click()
    settle(page)
    text = bar.inner_text()
    return "signed in" if f"Signed in as {name}" in text else "refused: " + " ".join(
        line for line in text.splitlines() if any(w in line for w in ("not", "passphrase", "look", "mix")))[:160]


def main(width: int, height: int) -> None:
    from playwright.sync_api import sync_playwright
    tmp = Path(tempfile.mkdtemp(prefix="walk-hostile-"))
    secrets = tmp / "secrets.toml"
    secrets.write_text(f'lecturer_password = "{PASSWORD}"\nclass_code = "{CODE}"\n')
    env = {"NNLAB_CHECKPOINTS": str(tmp / "checkpoints"), "NNLAB_DATA_DIR": str(tmp / "data"),
           "STREAMLIT_SECRETS_FILES": str(secrets)}
    requests: list[str] = []
    with streamlit_server(env) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        alice = browser.new_context(viewport={"width": width, "height": height}).new_page()
        mallory_ctx = browser.new_context(viewport={"width": width, "height": height})
        mallory_ctx.on("request", lambda r: requests.append(r.url))
        mallory = mallory_ctx.new_page()
        main_of = lambda page: page.locator('[data-testid="stMain"]')  # noqa: E731

        step("alice opens Home", alice, lambda: alice.goto(url), "1-home")
        step("alice signs in (sets her passphrase)", alice, lambda: sign_in(alice, "alice", "alice's own words"))
        step("alice opens Train", alice, lambda: alice.goto(with_session(url + "/train", alice.url, {})))

        def train_and_stop() -> str:
            main_of(alice).get_by_role("button", name="Train", exact=True).filter(visible=True).first.click()
            main_of(alice).get_by_role("button", name="Stop").filter(visible=True).first.wait_for(timeout=60_000)
            return "running"
        step("alice presses Train", alice, train_and_stop)

        def stop() -> str:
            start = time.perf_counter()
            main_of(alice).get_by_role("button", name="Stop").filter(visible=True).first.click()
            main_of(alice).get_by_text(re.compile(r"[Ss]topped|[Ff]inished|completed")).first.wait_for(timeout=60_000)
            return f"ended on screen {time.perf_counter() - start:.1f} s after Stop"
        step("alice presses Stop", alice, stop, "2-stopped")

        step("mallory opens Home", mallory, lambda: mallory.goto(url))
        step("mallory signs in as 'alice' with the class code", mallory,
             lambda: sign_in(mallory, "alice", "guess"), "3-takeover")
        step("mallory signs in as Cyrillic 'аlice'", mallory, lambda: sign_in(mallory, "аlice", "guess"))
        step("mallory signs in as herself", mallory, lambda: sign_in(mallory, "mallory", "mallory's words"))

        def etc_link() -> str:
            mallory.goto(with_session(url + "/train", mallory.url,
                                      {"lesson": 1, "dataset": "folder", "folder": "/etc", "hide": "folder",
                                       "model": "mlp"}))
            settle(mallory)
            text = main_of(mallory).inner_text()
            leaked = [w for w in ("PackageKit", "apt", "passwd", "X11") if w in text]
            button = main_of(mallory).get_by_role("button", name="Train", exact=True).filter(visible=True).first
            return f"leaked {leaked}" if leaked else f"nothing listed; Train {'disabled' if button.is_disabled() else 'ENABLED'}"
        step("mallory opens the /etc folder link", mallory, etc_link, "4-etc")

        def huge_link() -> str:
            mallory.goto(with_session(url + "/train", mallory.url,
                                      {"lesson": 1, "model": "mlp", "hidden": ",".join(["16384"] * 16),
                                       "dataset": "cifar10"}))
            settle(mallory)
            button = main_of(mallory).get_by_role("button", name="Train", exact=True).filter(visible=True).first
            said = next((line for line in main_of(mallory).inner_text().splitlines() if "budget" in line.lower()
                         or "at most" in line), "no message")
            return f"Train {'disabled' if button.is_disabled() else 'ENABLED'}; {said[:150]}"
        step("mallory opens the 4-billion-parameter link", mallory, huge_link, "5-huge")

        def phish_link() -> str:
            mallory.goto(with_session(url + "/train", mallory.url, {"lesson": 1, "lr": PHISH}))
            settle(mallory)
            links = mallory.locator('a[href*="example.invalid"]').count()
            images = mallory.locator('img[src*="example.invalid"]').count()
            fetched = [r for r in requests if urlsplit(r).hostname == "example.invalid"]
            shown = "**Session expired.**" in main_of(mallory).inner_text()
            return f"{links} links, {images} images, {len(fetched)} requests; shown as text: {shown}"
        step("mallory opens the phishing lesson link", mallory, phish_link, "6-phish")

        def weights() -> str:
            mallory.goto(with_session(url + "/transfer", mallory.url, {}))
            settle(mallory)
            uploaders = main_of(mallory).locator('[data-testid="stFileUploader"]').count()
            return f"{uploaders} weight uploaders for a student"
        step("mallory opens Pretrained ResNets", mallory, weights, "7-weights")

        def runs() -> str:
            mallory.goto(with_session(url + "/runs", mallory.url, {}))
            settle(mallory)
            return "sees alice's run" if "alice" in main_of(mallory).inner_text() else "alice's run not listed"
        step("mallory opens Runs", mallory, runs)

        def sign_out_and_back() -> str:
            address = mallory.url
            mallory.locator('[data-testid="stSidebar"]').get_by_role("button", name="Sign out").click()
            settle(mallory)
            mallory.goto(address)
            settle(mallory)
            return ("signed in again" if "Signed in as mallory" in mallory.locator('[data-testid="stSidebar"]').inner_text()
                    else "the old address signs nobody in")
        step("mallory signs out and reopens her old address", mallory, sign_out_and_back)

        def lecturer() -> str:
            box = alice.locator('[data-testid="stSidebar"] input[aria-label="Lecturer password"]')
            box.fill(PASSWORD)
            box.press("Enter")
            settle(alice)
            alice.reload()
            settle(alice)
            return "lecturer after F5" if "Lecturer mode" in alice.locator('[data-testid="stSidebar"]').inner_text() \
                else "LOST lecturer mode"
        step("the lecturer unlocks, then presses F5", alice, lecturer)
        step("the lecturer opens Server", alice, lambda: alice.goto(with_session(url + "/server", alice.url, {})),
             "8-server")
        browser.close()
    print(f"\n{width}x{height}: {len(steps)} steps, {sum(s for _, s, _ in steps):.1f} s in all")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1366, int(sys.argv[2]) if len(sys.argv) > 2 else 768)

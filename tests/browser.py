"""Start the real app with `streamlit run` and drive it with Playwright in Debian's Chromium."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def require_chromium() -> None:
    """Call at the top of a browser test module: skip it without Debian's chromium, unless CI
    demands the browser (NETLAB_REQUIRE_BROWSER=1, set by .ci/run), where a missing one is an error."""
    import pytest
    if not Path(CHROMIUM).exists():
        if os.environ.get("NETLAB_REQUIRE_BROWSER") == "1":
            raise RuntimeError(f"NETLAB_REQUIRE_BROWSER=1 but {CHROMIUM} is missing: apt-get install chromium")
        pytest.skip(f"{CHROMIUM} not installed", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc: subprocess.Popen, grace: float = 10) -> None:
    """End a process this test started: SIGTERM, then SIGKILL after `grace` seconds."""
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def streamlit_server(env: dict | None = None, timeout: float = 60):
    port = free_port()
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"streamlit-{port}.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env={**os.environ, "NNLAB_JOB_BACKEND": "process", **(env or {})}, stdout=log,
        stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while True:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"streamlit did not start; see {log.name}")
            time.sleep(0.3)
        yield url
    finally:
        stop(proc)
        log.close()


_SHARED: dict = {}


def shared_browser():
    """One Chromium for the whole test process (a launch costs ~1 s, and the suite opens ~30 pages); each page
    gets a context of its own, so no cookie, storage or session crosses from one test to the next. Playwright's
    sync API allows one instance per thread: every test asks here, none starts its own."""
    if "browser" not in _SHARED:
        import atexit
        from playwright.sync_api import sync_playwright
        _SHARED["playwright"] = sync_playwright().start()
        _SHARED["browser"] = _SHARED["playwright"].chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        atexit.register(_close_shared)
    return _SHARED["browser"]


def _close_shared() -> None:
    try:
        _SHARED.pop("browser").close()
        _SHARED.pop("playwright").stop()
    except Exception:  # noqa: BLE001 (the process is ending; a browser already gone is fine)
        pass


@contextmanager
def chromium_page(width: int = 1400, height: int = 1000):
    """A fresh page in a fresh browser context (as a new browser window would be), closed afterwards."""
    context = shared_browser().new_context(viewport={"width": width, "height": height})
    try:
        yield context.new_page()
    finally:
        context.close()


def settle(page) -> None:
    """Wait until the app has finished its run (Streamlit's status widget gone), after a short pause
    that lets a click start one."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=60_000)


def open_at(page, address: str, heading: str):
    """Go to `address` and wait until the app has drawn the page under `heading` (a heading of the
    main area) and finished its run; returns the main area's locator."""
    main = page.locator('[data-testid="stMain"]')
    page.goto(address)
    main.get_by_role("heading", name=heading).first.wait_for(timeout=60_000)
    settle(page)
    return main

"""Issue 19, item 4, in Chromium: a refresh keeps a student and the lecturer signed in (their tokens are
bound to the browser through Streamlit's XSRF cookie, which AppTest does not have), and the same address
opened in another browser (a projected screen, a pasted link) signs nobody in."""
import re

import pytest

from browser import chromium_page, require_chromium, streamlit_server

require_chromium()

PASSWORD, CODE = "a long lecturer pw", "owl42"


@pytest.fixture
def server(tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f'lecturer_password = "{PASSWORD}"\nclass_code = "{CODE}"\n')
    env = {"NNLAB_CHECKPOINTS": str(tmp_path / "checkpoints"), "NNLAB_JOB_BACKEND": "thread",
           "STREAMLIT_SECRETS_FILES": str(secrets)}
    with streamlit_server(env) as url:
        yield url


def settle(page) -> None:
    page.wait_for_selector('[data-testid="stSidebar"]', timeout=60_000)
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    page.wait_for_timeout(300)


def sidebar_text(page) -> str:
    return page.locator('[data-testid="stSidebar"]').inner_text()


def test_a_refresh_keeps_the_session_and_another_browser_gets_nothing(server):
    # each chromium_page is a browser context of its own: another browser, as far as the app can tell
    with chromium_page(1400, 1000) as mine:
        mine.goto(server)
        settle(mine)
        bar = mine.locator('[data-testid="stSidebar"]')
        bar.locator('input[aria-label="Your name"]').fill("alice")
        bar.locator('input[aria-label="Class code"]').fill(CODE)
        bar.locator('input[aria-label="Your passphrase"]').fill("alice's own words")
        bar.get_by_role("button", name="Sign in").click()
        mine.wait_for_url(re.compile(r"token="), timeout=60_000)
        settle(mine)
        assert "Signed in as alice" in sidebar_text(mine)
        bar.locator('input[aria-label="Lecturer password"]').fill(PASSWORD)
        bar.locator('input[aria-label="Lecturer password"]').press("Enter")
        mine.wait_for_url(re.compile(r"lecturer="), timeout=60_000)
        settle(mine)
        assert "Lecturer mode" in sidebar_text(mine)
        address = mine.url

        mine.reload()  # F5: a new session, the same browser
        settle(mine)
        assert "Lecturer mode" in sidebar_text(mine) and "lecturer=" in mine.url and "token=" in mine.url

        with chromium_page(1400, 1000) as other:
            other.goto(address)  # the address read off the projector, in another browser
            settle(other)
            text = sidebar_text(other)
            assert "Lecturer mode" not in text and "Your name" in text and "token=" not in other.url

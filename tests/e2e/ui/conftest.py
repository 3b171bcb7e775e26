"""The web UI in headless Chromium, driven by Playwright for Python, against a real ``hw server``.

Chromium is Debian's (``/usr/bin/chromium``, installed by ``scripts/system-deps``), never a
browser Playwright downloads. Without it these tests skip, unless ``HEADWATER_REQUIRE_POSTGRES=1``
(CI: every system dependency must be there) turns the skip into a failure. Each test saves
screenshots under ``test-output/ui/``; docs/ui.md shows some of them.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.e2e.conftest import LiveServer

SHOTS = Path(__file__).resolve().parents[3] / "test-output" / "ui"
PASSWORD = "correct-horse-battery"
TIMEOUT_MS = 15_000

try:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
except ImportError:  # the `browser` fixture says why
    pass

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    context.close()


def drawn(page: Page, title: str) -> dict[str, list[tuple[float, float]]]:
    """The lines a chart draws, by label: its ``data-drawn`` attribute parsed."""
    raw = page.locator(f"figure[data-metric='{title}']").get_attribute("data-drawn") or ""
    lines: dict[str, list[tuple[float, float]]] = {}
    for part in filter(None, raw.split("|")):
        label, _, points = part.partition("=")
        pairs = (p.split(":") for p in filter(None, points.split(",")))
        lines[label] = [(float(x), float(y)) for x, y in pairs]
    return lines


def shot(page: Page, name: str, **options: Any) -> Path:
    """Save a screenshot of ``page`` as test-output/ui/NAME.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), **options)
    return path


@dataclass
class User:
    """A user of the live server with a password (for the login form) and an API token."""

    username: str
    email: str
    token: str
    url: str

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(
            method,
            f"{self.url}/api/v1{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
            **kwargs,
        )
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def project(self, prefix: str = "ui") -> dict[str, Any]:
        created: dict[str, Any] = self.call(
            "POST", "/projects", json={"name": f"{prefix}-{secrets.token_hex(3)}"}
        )
        return created


@pytest.fixture
def make_user(live_server: LiveServer) -> Any:
    def create(prefix: str) -> User:
        name = f"{prefix}-{secrets.token_hex(3)}"
        email = f"{name}@example.com"
        response = httpx.post(
            f"{live_server.url}/api/v1/users",
            headers={"Authorization": f"Bearer {live_server.admin_token}"},
            json={"username": name, "email": email, "password": PASSWORD},
            timeout=30,
        )
        assert response.status_code == 201, response.text
        return User(name, email, response.json()["token"], live_server.url)

    return create


def log_in(page: Page, user: User) -> None:
    """The login form, with the user's password."""
    page.goto("/")
    page.get_by_role("textbox", name="Username").fill(user.username)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Projects").wait_for()

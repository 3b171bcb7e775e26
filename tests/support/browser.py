"""Debian's Chromium driven by Playwright: one browser for the whole session.

Playwright's sync API keeps its event loop in the thread that started it, so a second
``sync_playwright()`` while the first lives fails: every suite shares this one ``browser``
fixture (registered in tests/conftest.py) instead of starting its own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def why_no_browser() -> str | None:
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} not found: install Debian's `chromium` (scripts/system-deps does)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: pip install -c constraints.txt -e '.[dev]'"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    reason = why_no_browser()
    if reason is not None:
        if os.environ.get("HEADWATER_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"HEADWATER_REQUIRE_POSTGRES=1 (CI) but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()

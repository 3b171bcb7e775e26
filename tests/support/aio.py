"""Running a coroutine from a test, whatever the test thread already runs.

Playwright's sync API (the session's ``browser`` fixture) keeps an event loop running in the
main thread once a UI test has used it, and ``asyncio.run`` refuses to start inside a running
loop. A test that drives async code runs it on a thread of its own instead."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coroutine)`` on a fresh thread; its result, or its exception raised."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()

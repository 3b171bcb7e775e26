"""The one way tests wait: poll a predicate until it holds, never a fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    probe: Callable[[], T | None],
    *,
    timeout: float = 30.0,
    interval: float = 0.05,
    message: str | Callable[[], str] = "the condition did not hold",
) -> T:
    """Call ``probe`` until it returns something truthy, and return that; fail after
    ``timeout`` seconds with ``message`` (a callable is asked only then, for a fresh account)."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"after {timeout:g} s: {text}")
        time.sleep(interval)

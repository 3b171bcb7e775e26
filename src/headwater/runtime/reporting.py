"""Talking to the API from inside a task: retried, because the server may be restarting.

A task must outlive a server restart and lose nothing, so every call the runtime makes is
retried with backoff for up to ``PATIENCE`` seconds before the runtime gives up on it.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import httpx

from headwater.client.http import HttpClient
from headwater.domain.errors import (
    Conflict,
    HeadwaterError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    ServerUnreachable,
    Unauthenticated,
)

log = logging.getLogger("headwater.runtime")

PATIENCE = 15 * 60.0
T = TypeVar("T")

# Answers that will not change by asking again.
FINAL = (Conflict, InvalidInput, NotFound, PermissionDenied, Unauthenticated)


def patiently(
    call: Callable[[], T], *, patience: float = PATIENCE, stop: threading.Event | None = None
) -> T:
    """``call()``, retried on unreachable servers and 5xx answers with capped backoff."""
    deadline = time.monotonic() + patience
    delay = 0.1
    while True:
        try:
            return call()
        except FINAL:
            raise
        except (ServerUnreachable, HeadwaterError) as exc:
            if time.monotonic() >= deadline:
                raise
            log.warning("retrying after %s", exc)
            if stop is not None and stop.wait(delay):
                raise
            if stop is None:
                time.sleep(delay)
            delay = min(5.0, delay * 2) * (0.8 + 0.4 * random.random())


class SharedTransport(httpx.BaseTransport):
    """One pool of kept-alive connections for every task of a long-lived worker: a task's
    runtime reuses them instead of connecting anew (each connection costs the server too).
    Closing one task's client leaves the pool open; the worker ``shut``s it as it leaves."""

    def __init__(self, url: str) -> None:
        self._pool = httpx.HTTPTransport(verify=url.startswith("https://"))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._pool.handle_request(request)

    def close(self) -> None:
        """Kept open for the next task; ``shut`` closes it."""

    def shut(self) -> None:
        self._pool.close()


class TaskApi:
    """The calls of one experiment's runtime, under ``/projects/P/experiments/E``."""

    def __init__(
        self,
        url: str,
        token: str,
        project_id: str,
        experiment_id: str,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.http = HttpClient(url, token, timeout=60.0, transport=transport)
        self.project_id = project_id
        self.experiment_id = experiment_id
        self.base = f"/projects/{project_id}/experiments/{experiment_id}"

    def close(self) -> None:
        self.http.close()

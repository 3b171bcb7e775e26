"""The ``Notifier`` protocol, the event it sends and the delivery it reports, and retries."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class Event:
    """What happened: an experiment started or ended."""

    kind: str  # one of entities.WEBHOOK_EVENTS, e.g. "experiment.failed"
    project_id: str
    project_name: str
    subject_id: str
    title: str  # what ran
    state: str  # how it ended
    reason: str | None
    url: str | None  # a link to it
    occurred_at: datetime
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    """One notification's fate, for the delivery log; ``target`` never holds a secret."""

    channel: str
    target: str
    event: str
    ok: bool
    attempts: int
    status: str
    at: datetime


class Notifier(Protocol):
    channel: str

    def send(self, event: Event) -> Delivery | None:
        """Deliver ``event`` (retrying what may pass); None when not subscribed to it."""
        ...


class Transient(Exception):
    """A failure that may pass: try again."""


def retrying(
    attempt: Callable[[], str],
    *,
    attempts: int = 4,
    base_delay: float = 0.5,
    max_delay: float = 8.0,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[bool, int, str]:
    """Run ``attempt`` until it returns (ok) or raises a non-``Transient`` error (final), or
    ``attempts`` run out. Returns (ok, attempts made, status of the last one)."""
    status = ""
    for n in range(1, attempts + 1):
        try:
            return True, n, attempt()
        except Transient as exc:
            status = str(exc)
        except Exception as exc:
            return False, n, str(exc) or type(exc).__name__
        if n < attempts:
            delay = min(max_delay, base_delay * 2 ** (n - 1))
            sleep(delay * (0.5 + random.random() / 2))
    return False, attempts, status


def delivery(channel: str, target: str, event: Event, result: tuple[bool, int, str]) -> Delivery:
    ok, attempts, status = result
    return Delivery(channel, target, event.kind, ok, attempts, status, datetime.now(UTC))

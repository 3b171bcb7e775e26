"""The ``Notifier`` protocol, the event it sends, the delivery it reports, and the retries every
channel shares, so that each channel only says how to send once and which failures may pass."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

Sleep = Callable[[float], None]


@dataclass(frozen=True)
class Event:
    """What happened, in words every channel can use: an experiment started or ended."""

    kind: str  # one of domain.entities.WEBHOOK_EVENTS, e.g. "experiment.failed"
    project_id: str
    project_name: str
    subject_id: str  # the experiment's (flow's, endpoint's) id
    title: str  # what ran, e.g. "experiment 12 (python train.py)"
    state: str  # how it ended (or where it is): "success", "failed", "aborted", "running"
    reason: str | None
    url: str | None  # a link to it in the UI
    occurred_at: datetime
    extra: Mapping[str, Any] = field(default_factory=dict)  # JSON-able; webhooks carry it


@dataclass(frozen=True)
class Delivery:
    """One notification's fate, for the delivery log. ``target`` says where it went without
    anything secret in it (no passwords, tokens, or the path of a Slack webhook)."""

    channel: str  # "email", "slack", "webhook" (or "fake")
    target: str
    event: str  # the event's kind
    ok: bool
    attempts: int
    status: str  # the last answer: "HTTP 200", "250 accepted", "SMTP 554: ...", an error
    at: datetime

    @classmethod
    def of(cls, channel: str, target: str, event: Event, outcome: Outcome) -> Delivery:
        return cls(channel, target, event.kind, outcome.ok, outcome.attempts, outcome.status, now())


class Notifier(Protocol):
    """Tells someone about an event. ``send`` is synchronous (the engine calls it from a
    background thread), retries on its own, and never raises: whatever went wrong is in the
    ``Delivery``. It returns None when this notifier does not take the event at all (a webhook
    not subscribed to its kind, an email with no recipients): nothing was attempted, nothing
    to log."""

    channel: str

    def send(self, event: Event) -> Delivery | None: ...


class Transient(Exception):
    """A failure that may pass (connection refused, HTTP 5xx or 429, SMTP 4xx): try again,
    after ``retry_after`` seconds when the peer said so."""

    def __init__(self, status: str, retry_after: float | None = None) -> None:
        super().__init__(status)
        self.retry_after = retry_after


class Permanent(Exception):
    """A failure that trying again will not fix (HTTP 4xx, SMTP 5xx, a refused login)."""


class Outcome(NamedTuple):
    ok: bool
    attempts: int
    status: str


def retrying(
    fn: Callable[[], str],
    *,
    attempts: int = 4,
    base_delay: float = 0.5,
    max_delay: float = 8.0,
    sleep: Sleep = time.sleep,
) -> Outcome:
    """Call ``fn`` (which returns a status) until it succeeds, raises anything but
    ``Transient``, or ``attempts`` run out; waits grow exponentially with jitter between tries,
    so many deliveries failing at once do not come back in step."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    status = ""
    for n in range(1, attempts + 1):
        try:
            return Outcome(True, n, fn())
        except Transient as exc:
            status, retry_after = str(exc), exc.retry_after
        except Exception as exc:  # Permanent, or unforeseen: another try would do the same
            return Outcome(False, n, str(exc) or type(exc).__name__)
        if n < attempts:
            sleep(delay(n, base_delay, max_delay, retry_after))
    return Outcome(False, attempts, status)


def delay(n: int, base_delay: float, max_delay: float, retry_after: float | None = None) -> float:
    """Seconds to wait after failed try ``n``: what the peer asked for (capped), or half the
    exponential step plus a random share of the other half ("equal jitter")."""
    if retry_after is not None:
        return max(0.0, min(max_delay, retry_after))
    step = min(max_delay, base_delay * 2.0 ** (n - 1))
    return step / 2 + random.uniform(0, step / 2)


@dataclass(frozen=True)
class Backoff:
    """A retry policy a notifier is built with; tests pass ``sleep`` to skip the waits."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    sleep: Sleep = time.sleep

    def run(self, fn: Callable[[], str]) -> Outcome:
        return retrying(
            fn,
            attempts=self.attempts,
            base_delay=self.base_delay,
            max_delay=self.max_delay,
            sleep=self.sleep,
        )


DEFAULT_BACKOFF = Backoff()


def now() -> datetime:
    return datetime.now(UTC)

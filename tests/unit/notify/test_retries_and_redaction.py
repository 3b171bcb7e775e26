"""The pieces every channel leans on: the retry loop, its waits, reading Retry-After, keeping
secrets out of delivery targets, and which SMTP failures may pass."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from headwater.notify.base import Permanent, Transient, delay, retrying
from headwater.notify.email import classify
from headwater.notify.posting import redact, retry_after


def _run(steps: list[Exception | str], attempts: int = 4) -> tuple[tuple[object, ...], list[float]]:
    slept: list[float] = []

    def fn() -> str:
        step = steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    outcome = retrying(fn, attempts=attempts, base_delay=1.0, max_delay=3.0, sleep=slept.append)
    return tuple(outcome), slept


def test_a_transient_failure_is_tried_again_and_the_last_status_is_kept() -> None:
    outcome, slept = _run([Transient("HTTP 503"), "HTTP 200"])
    assert outcome == (True, 2, "HTTP 200")
    assert len(slept) == 1
    outcome, slept = _run([Transient(f"HTTP 50{i}") for i in range(4)])
    assert outcome == (False, 4, "HTTP 503")
    assert len(slept) == 3


@pytest.mark.parametrize("error", [Permanent("HTTP 404"), ValueError("bad")])
def test_anything_but_a_transient_failure_ends_the_tries(error: Exception) -> None:
    outcome, slept = _run([error, "HTTP 200"])
    assert outcome == (False, 1, str(error))
    assert slept == []


def test_a_retry_after_replaces_the_backoff_within_the_cap() -> None:
    outcome, slept = _run([Transient("HTTP 429", 2.0), Transient("HTTP 429", 60), "ok"])
    assert outcome == (True, 3, "ok")
    assert slept == [2.0, 3.0]


def test_waits_double_with_jitter_up_to_the_cap() -> None:
    for n, step in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (9, 8.0)]:
        for _ in range(50):
            assert step / 2 <= delay(n, 0.5, 8.0) <= step


def test_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="attempts"):
        retrying(lambda: "ok", attempts=0)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after("7") == 7.0
    assert retry_after(None) is None
    assert retry_after("soon") is None
    later = retry_after(format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True))
    assert later is not None
    assert 25 <= later <= 31
    assert retry_after("Mon, 01 Jan 2001 00:00:00 GMT") == 0.0


@pytest.mark.parametrize(
    ("url", "keep_path", "shown"),
    [
        (
            "https://user:pw@hooks.example.org:8443/a/b?token=x#f",
            True,
            "https://hooks.example.org:8443/a/b",
        ),
        ("https://hooks.slack.com/services/T0/B0/XYZ", False, "https://hooks.slack.com"),
        ("http://[::1]:9000/hook", True, "http://[::1]:9000/hook"),
        ("http://host:notaport/x", True, "http://host/x"),
    ],
)
def test_redaction_leaves_no_credential_query_or_secret_path(
    url: str, keep_path: bool, shown: str
) -> None:
    assert redact(url, keep_path=keep_path) == shown


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (smtplib.SMTPDataError(451, b"try later"), True),
        (smtplib.SMTPDataError(554, b"rejected"), False),
        (smtplib.SMTPAuthenticationError(535, b"bad credentials"), False),
        (smtplib.SMTPRecipientsRefused({"a@x": (550, b"no such user")}), False),
        (smtplib.SMTPRecipientsRefused({"a@x": (550, b"no"), "b@x": (452, b"full")}), True),
        (smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server."), False),
        (smtplib.SMTPServerDisconnected("gone"), True),
        (ConnectionRefusedError(111, "refused"), True),
    ],
)
def test_smtp_says_which_failures_may_pass(error: OSError, transient: bool) -> None:
    assert isinstance(classify(error), Transient) == transient

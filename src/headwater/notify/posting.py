"""Posting JSON to someone else's URL (Slack, webhooks): which answers count as delivered, which
may pass, and how a URL is written in the delivery log without its secrets."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx

from headwater.notify.base import Backoff, Outcome, Permanent, Transient

USER_AGENT = "Headwater-Notify/1"
RETRYABLE = frozenset({408, 425, 429})  # besides every 5xx


def post(
    url: str, body: bytes, headers: dict[str, str], *, backoff: Backoff, timeout: float
) -> Outcome:
    """POST ``body`` until a 2xx answer. Redirects are not followed (a hook that moved is a
    setting to fix, and following would resend the body elsewhere), so a 3xx is a failure."""
    sent = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers}
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:

        def attempt() -> str:
            try:
                response = client.post(url, content=body, headers=sent)
            except httpx.UnsupportedProtocol as exc:
                raise Permanent(f"bad URL: {exc}") from exc
            except httpx.TransportError as exc:
                raise Transient(f"unreachable: {type(exc).__name__}: {exc}") from exc
            return judge(response)

        return backoff.run(attempt)


def judge(response: httpx.Response) -> str:
    """The status of an answer, or the failure it stands for."""
    code = response.status_code
    status = f"HTTP {code}"
    if 200 <= code < 300:
        return status
    if code >= 500 or code in RETRYABLE:
        raise Transient(status, retry_after(response.headers.get("Retry-After")))
    raise Permanent(status)


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header, which is either seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def redact(url: str, *, keep_path: bool = True) -> str:
    """The URL without credentials or query (where tokens live); without the path too when the
    path is itself the secret, as in a Slack incoming webhook."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a number: the URL will fail to send; the log still names it
        port = ""
    path = parts.path if keep_path else ""
    return f"{parts.scheme}://{host}{port}{path}"

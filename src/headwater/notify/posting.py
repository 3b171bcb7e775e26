"""Posting JSON to someone else's URL (Slack, webhooks): where it may go, which answers count
as delivered, which may pass, and how a URL is written in the delivery log without its secrets.

Each attempt resolves the host, checks every address against the ``AddressPolicy``
(``domain.addresses``), and connects to the address it checked, with the URL's host kept in
the ``Host`` header and, for https, in TLS's server name (so certificates are verified
against the name). A second lookup, where DNS could answer otherwise, never happens.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit

import httpx

from headwater.domain.addresses import STRICT, AddressPolicy, AddressRefused, IPAddress, literal
from headwater.notify.base import Backoff, Outcome, Permanent, Transient

Resolver = Callable[[str, int], list[IPAddress]]

USER_AGENT = "Headwater-Notify/1"
RETRYABLE = frozenset({408, 425, 429})  # besides every 5xx


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` has, in the resolver's order (an address as itself)."""
    written = literal(host)
    if written is not None:
        return [written]
    found: list[IPAddress] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        ip = ipaddress.ip_address(sockaddr[0])
        if ip not in found:
            found.append(ip)
    return found


@dataclass(frozen=True)
class Pinned:
    """A request bound to one checked address."""

    url: str  # the URL with its host replaced by the address
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


def pin(url: str, policy: AddressPolicy, resolver: Resolver = resolve) -> Pinned:
    """Resolve ``url``'s host, refuse it unless every address passes ``policy``, and bind the
    request to the first address. Raises ``Permanent`` when refused (or not a URL),
    ``Transient`` when the name does not resolve now."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise Permanent(f"bad URL: {exc}") from exc
    if not host or parts.scheme not in ("http", "https"):
        raise Permanent("bad URL: it needs http:// or https:// and a host")
    try:
        addresses = resolver(host, port or (443 if parts.scheme == "https" else 80))
    except (OSError, ValueError) as exc:  # UnicodeError (a label too long) is a ValueError
        raise Transient(f"unreachable: {host} does not resolve: {exc}") from exc
    if not addresses:
        raise Transient(f"unreachable: {host} has no address")
    try:
        policy.check(url, addresses)
    except AddressRefused as exc:
        raise Permanent(f"refused: {exc.detail}") from exc
    ip = addresses[0]
    where = f"[{ip}]" if ip.version == 6 else str(ip)
    suffix = f":{port}" if port else ""
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{where}{suffix}" if userinfo else f"{where}{suffix}"
    named = f"[{host}]" if ":" in host else host
    extensions = {"sni_hostname": host} if parts.scheme == "https" and literal(host) is None else {}
    return Pinned(
        url=urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)),
        headers={"Host": f"{named}{suffix}"},
        extensions=extensions,
    )


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    backoff: Backoff,
    timeout: float,
    policy: AddressPolicy = STRICT,
    resolver: Resolver = resolve,
) -> Outcome:
    """POST ``body`` until a 2xx answer, to an address ``policy`` allows (see the module
    docstring). Redirects are not followed (a hook that moved is a setting to fix, and
    following would resend the body elsewhere, unchecked), so a 3xx is a failure."""
    sent = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers}
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:

        def attempt() -> str:
            target = pin(url, policy, resolver)
            try:
                response = client.post(
                    target.url,
                    content=body,
                    headers={**sent, **target.headers},
                    extensions=target.extensions,
                )
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

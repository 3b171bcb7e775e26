"""The address policy for requests this server sends to user-given URLs (webhooks, Slack),
from its settings, and the check a URL passes when an owner saves it."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from headwater.domain.addresses import AddressPolicy, AddressRefused, IPAddress, parse_networks
from headwater.notify.posting import resolve
from headwater.settings import ServerSettings


def address_policy(settings: ServerSettings) -> AddressPolicy:
    """Public addresses only, minus this server's own; more as the admin allows."""
    hosts = [settings.host, urlsplit(settings.resolved_public_url()).hostname or ""]
    return AddressPolicy(
        allow_private=settings.webhook_allow_private,
        allowed=parse_networks(settings.webhook_allow_networks),
        own=own_addresses([*hosts, socket.gethostname()]),
    )


def own_addresses(hosts: Iterable[str]) -> frozenset[IPAddress]:
    """What the names this server listens and is reached on resolve to (loopback and private
    ones are refused anyway; this adds a public address of the server's own)."""
    found: set[IPAddress] = set()
    for host in hosts:
        if host and host not in ("0.0.0.0", "::"):
            try:
                found.update(resolve(host, 0))
            except (OSError, ValueError):
                continue
    return frozenset(found)


def check_url(url: str, policy: AddressPolicy, *, where: str) -> None:
    """Refuse ``url`` when its host resolves now to an address ``policy`` refuses. A name
    that does not resolve now is let through: every delivery checks again."""
    try:
        host = urlsplit(url).hostname
    except ValueError as exc:  # e.g. an unclosed '[' of an IPv6 address
        raise AddressRefused(
            f"not a URL: {exc}", where=where, hint="Give e.g. https://hooks.example.org/x."
        ) from exc
    if not host:
        raise AddressRefused(
            "the URL names no host", where=where, hint="Give e.g. https://hooks.example.org/x."
        )
    try:
        addresses = resolve(host, 0)
    except (OSError, ValueError):  # not resolvable now (UnicodeError is a ValueError)
        return
    policy.check(url, addresses, where=where)

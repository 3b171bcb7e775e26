"""Where the server may send a request on a user's behalf (webhooks, Slack).

A URL a project owner gives is fetched by the server, from inside the server's network: left
open, it reaches what only the server should (its own admin routes on loopback, a cloud's
metadata service on 169.254.169.254, databases on private addresses). By default only
globally routable addresses are allowed; an admin opens more with
``HEADWATER_WEBHOOK_ALLOW_PRIVATE`` (everything) or ``HEADWATER_WEBHOOK_ALLOW_NETWORKS``
(a comma-separated list of CIDRs).

The rule is applied to every address a name resolves to, at creation (when the name
resolves then) and again at each delivery, where the request then goes to the address that
was checked, so a name that resolves elsewhere the second time (DNS rebinding) changes
nothing. The resolving is the caller's; this module only judges addresses.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import urlsplit

from headwater.domain.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
SETTING_HINT = (
    "An admin may allow such addresses with HEADWATER_WEBHOOK_ALLOW_PRIVATE=true, or some "
    "networks with HEADWATER_WEBHOOK_ALLOW_NETWORKS (comma-separated CIDRs)."
)


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class AddressRefused(InvalidInput):
    """A URL that leads where the server may not send requests (422, like a schema check)."""

    status_code: ClassVar[int] = 422


def kind_of(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public address (``None`` when it is one)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return kind_of(ip.ipv4_mapped)  # ::ffff:127.0.0.1 is 127.0.0.1
        if ip in _NAT64:  # a NAT64 gateway forwards 64:ff9b::a00:1 to 10.0.0.1
            return kind_of(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "reserved"  # shared (100.64/10), documentation, benchmarking, 240/4...
    return None


def parse_networks(text: str, *, where: str = "webhook_allow_networks") -> tuple[IPNetwork, ...]:
    """``"10.0.0.0/8, fd00::/8"`` as networks; a bare address is a network of one."""
    found: list[IPNetwork] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            found.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise InvalidInput(
                f"{item!r} is not a network: {exc}",
                where=where,
                hint="Give CIDRs separated by commas, e.g. 10.1.0.0/16,192.168.5.7.",
            ) from exc
    return tuple(found)


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses the server may send to: public ones, minus ``own`` (the server's own
    addresses), plus ``allowed`` networks; everything when ``allow_private``."""

    allow_private: bool = False
    allowed: tuple[IPNetwork, ...] = ()
    own: frozenset[IPAddress] = field(default_factory=frozenset)

    def refusal(self, ip: IPAddress) -> str | None:
        """Why the server may not send to ``ip`` (``None``: it may)."""
        if self.allow_private or any(ip in net for net in self.allowed):
            return None
        kind = kind_of(ip)
        if kind is not None:
            return f"a {kind} address"
        return "the server's own address" if ip in self.own else None

    def check(self, url: str, addresses: Iterable[IPAddress], *, where: str = "url") -> None:
        """Refuse ``url`` when any address its host resolves to is refused: an attacker
        controls a name's answers and their order, so one bad answer is enough."""
        for ip in addresses:
            why = self.refusal(ip)
            if why is not None:
                host = urlsplit(url).hostname or url
                shown = host if host == str(ip) else f"{host} ({ip})"
                raise AddressRefused(
                    f"{shown} is {why}: the server does not send requests there",
                    where=where,
                    hint="Use a public address. " + SETTING_HINT,
                )


OPEN = AddressPolicy(allow_private=True)  # tests and trusted single-user servers
STRICT = AddressPolicy()


def literal(host: str) -> IPAddress | None:
    """``host`` as an address when it is one written out (``[::1]`` as ``::1``)."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None

"""Which addresses the server may send user-given requests to (domain.addresses)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.addresses import (
    OPEN,
    STRICT,
    AddressPolicy,
    AddressRefused,
    kind_of,
    parse_networks,
)
from headwater.domain.errors import InvalidInput

ip = ipaddress.ip_address


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("64:ff9b::a00:1", "private"),
        ("64:ff9b::5db8:d70e", None),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.0.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.0.1", "private"),
        ("fc00::1", "private"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("100.64.0.1", "reserved"),
        ("93.184.215.14", None),
        ("2606:4700::1111", None),
        ("172.32.0.1", None),
    ],
)
def test_kind_of(address: str, kind: str | None) -> None:
    assert kind_of(ip(address)) == kind


def test_the_servers_own_public_address_is_refused() -> None:
    policy = AddressPolicy(own=frozenset({ip("93.184.215.14")}))
    assert policy.refusal(ip("93.184.215.14")) == "the server's own address"
    assert policy.refusal(ip("93.184.215.15")) is None


def test_allowed_networks_open_only_themselves() -> None:
    policy = AddressPolicy(allowed=parse_networks("10.1.0.0/16, fd00::1"))
    assert policy.refusal(ip("10.1.200.3")) is None
    assert policy.refusal(ip("fd00::1")) is None
    assert policy.refusal(ip("10.2.0.1")) == "a private address"
    assert policy.refusal(ip("127.0.0.1")) == "a loopback address"


def test_check_refuses_when_any_answer_is_refused() -> None:
    with pytest.raises(AddressRefused, match=r"evil\.test \(127\.0\.0\.1\) is a loopback") as e:
        STRICT.check("http://evil.test/x", [ip("93.184.215.14"), ip("127.0.0.1")], where="url")
    assert e.value.where == "url"
    assert e.value.status_code == 422
    assert "HEADWATER_WEBHOOK_ALLOW_PRIVATE" in (e.value.hint or "")
    OPEN.check("http://evil.test/x", [ip("127.0.0.1")])


def test_a_bad_network_is_named() -> None:
    with pytest.raises(InvalidInput, match=r"'10\.0\.0\.0/33'"):
        parse_networks("10.0.0.0/8,10.0.0.0/33")


@given(st.ip_addresses())
def test_only_global_unicast_passes_the_default(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    passes = STRICT.refusal(address) is None
    mapped = getattr(address, "ipv4_mapped", None)
    if address in ipaddress.ip_network("64:ff9b::/96"):
        mapped = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    plain = mapped if mapped is not None else address
    assert passes == (plain.is_global and not plain.is_multicast)

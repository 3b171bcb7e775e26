"""The body guards' pure parts: which limit a request gets, and the nesting scan."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.server.guards import _NOT_BRACKETS, _STRING, BodyLimits, nesting_exceeds

LIMITS = BodyLimits(json_bytes=100, commit_bytes=1000, json_depth=8)
REPO = "/api/v1/projects/p1"


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("PUT", f"{REPO}/files/objects/{'a' * 64}", None),  # streamed to disk, digest checked
        ("POST", f"{REPO}/datasets/d/objects/batch", None),  # its own 64 MiB cap
        ("POST", f"{REPO}/models/m/objects/missing", 100),  # JSON lists of hashes
        ("POST", f"{REPO}/files/objects/download", 100),
        ("POST", f"{REPO}/files/commits", 1000),
        ("POST", f"{REPO}/datasets/d/commits", 1000),
        ("GET", f"{REPO}/files/commits", 100),
        ("POST", f"{REPO}/files/objects/{'a' * 64}", 100),  # only PUT streams
        ("POST", f"{REPO}/flows", 100),
        ("POST", "/api/v1/auth/login", 100),
        ("PUT", "/api/v1/projects/p1/secrets/objects", 100),
    ],
)
def test_each_route_gets_its_limit(method: str, path: str, expected: int | None) -> None:
    found = LIMITS.for_request(method, path)
    assert (found[0] if found else None) == expected


@pytest.mark.parametrize(
    ("body", "deep"),
    [
        (b"[" * 8 + b"]" * 8, False),
        (b"[" * 9 + b"]" * 9, True),
        (b'{"a": ' * 9 + b"1" + b"}" * 9, True),
        (b"[" * 50_000 + b"]" * 50_000, True),
        (b"[]" * 10_000, False),  # many brackets, never deep
        (b'{"a": "' + b"[" * 100 + b'"}', False),  # brackets inside a string
        (b'{"a": "\\"' + b"[" * 100 + b'"}', False),  # after an escaped quote too
        (b'"' + b"[" * 9, True),  # after an unpaired quote: counted, as the pattern does
        (b'"a" "' + b"{" * 9, True),
        (json.dumps({"points": [["k", i, 0.5, None] for i in range(1000)]}).encode(), False),
    ],
)
def test_nesting_is_measured_outside_strings(body: bytes, deep: bool) -> None:
    assert nesting_exceeds(body, 8) is deep


def _depth_by_the_pattern(body: bytes) -> int:
    """The deepest nesting outside strings, found the slow way (strings cut by the pattern)."""
    depth = deepest = 0
    for byte in _STRING.sub(b"", body).translate(None, _NOT_BRACKETS):
        depth += 1 if byte in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


@given(st.binary(max_size=40) | st.text(alphabet='[]{}"\\a,', max_size=40).map(str.encode))
def test_nesting_agrees_with_the_string_pattern(body: bytes) -> None:
    """The fast way (quotes split in pairs, no escapes) finds what the pattern finds."""
    deepest = _depth_by_the_pattern(body)
    for limit in (0, 1, 2, 3):
        assert nesting_exceeds(body, limit) is (deepest > limit)

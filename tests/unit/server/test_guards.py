"""The body guards' pure parts: which limit a request gets, and the nesting scan."""

from __future__ import annotations

import json

import pytest

from headwater.server.guards import BodyLimits, nesting_exceeds

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
        (json.dumps({"points": [["k", i, 0.5, None] for i in range(1000)]}).encode(), False),
    ],
)
def test_nesting_is_measured_outside_strings(body: bytes, deep: bool) -> None:
    assert nesting_exceeds(body, 8) is deep

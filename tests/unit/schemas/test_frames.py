"""The blob framing survives any chunking and refuses truncated or garbled bodies."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.errors import InvalidInput
from headwater.schemas.frames import FrameReader, encode


def _blob(data: bytes) -> tuple[str, bytes]:
    return hashlib.sha256(data).hexdigest(), data


@given(st.lists(st.binary(max_size=300), max_size=8), st.integers(min_value=1, max_value=97))
def test_round_trip_under_any_chunking(payloads: list[bytes], step: int) -> None:
    blobs = [_blob(p) for p in payloads]
    body = b"".join(encode(blobs))
    reader = FrameReader()
    got = []
    for i in range(0, len(body), step):
        got.extend(reader.feed(body[i : i + step]))
    reader.close()
    assert got == blobs


def test_truncated_body_is_refused() -> None:
    body = b"".join(encode([_blob(b"hello world")]))
    reader = FrameReader()
    assert list(reader.feed(body[:-3])) == []
    with pytest.raises(InvalidInput, match="ends inside a frame"):
        reader.close()


@pytest.mark.parametrize("header", [b"nohash\n", b"abc -1\n", b"x" * 200])
def test_garbled_headers_are_refused(header: bytes) -> None:
    with pytest.raises(InvalidInput, match="frame header"):
        list(FrameReader().feed(header))

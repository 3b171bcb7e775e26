"""The wire format for many blobs in one body, both ways: per blob a line ``HASH SIZE\\n``
followed by exactly SIZE bytes. Shared by server and client so the two cannot drift."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from headwater.domain.errors import InvalidInput

MAX_HEADER = 100


def frame_header(digest: str, size: int) -> bytes:
    return f"{digest} {size}\n".encode()


def encode(blobs: Iterable[tuple[str, bytes]]) -> Iterator[bytes]:
    for digest, data in blobs:
        yield frame_header(digest, len(data))
        yield data


class FrameReader:
    """Parses frames from chunks as they arrive; yields (digest, bytes) per complete blob."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> Iterator[tuple[str, bytes]]:
        self._buffer += chunk
        start = 0
        try:
            while True:
                newline = self._buffer.find(b"\n", start, start + MAX_HEADER)
                if newline < 0:
                    if len(self._buffer) - start >= MAX_HEADER:
                        raise _bad("a frame header is longer than any valid one")
                    return
                digest, size = _header(bytes(self._buffer[start:newline]))
                end = newline + 1 + size
                if len(self._buffer) < end:
                    return
                data = bytes(self._buffer[newline + 1 : end])
                start = end
                yield digest, data
        finally:
            # One shift per chunk, not one per blob: a batch holds thousands of small blobs.
            del self._buffer[:start]

    def close(self) -> None:
        if self._buffer:
            raise _bad(f"the body ends inside a frame ({len(self._buffer)} bytes left over)")


def _header(line: bytes) -> tuple[str, int]:
    try:
        digest, size_text = line.decode("ascii").split(" ")
        size = int(size_text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _bad(f"bad frame header {line[:80]!r}") from exc
    if size < 0:
        raise _bad(f"negative size in frame header {line[:80]!r}")
    return digest, size


def _bad(detail: str) -> InvalidInput:
    return InvalidInput(
        detail,
        where="body",
        hint="Send blobs as 'HASH SIZE\\n' followed by SIZE bytes, one after another.",
    )

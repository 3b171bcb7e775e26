"""The byte-backend protocol: whole objects by key, written atomically or not at all."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable


@runtime_checkable
class ByteBackend(Protocol):
    def write(self, key: str, chunks: Iterable[bytes]) -> int:
        """Store the chunks under ``key``; all of them, or (on any error) nothing.

        An exception raised while iterating ``chunks`` aborts the write and propagates.
        """

    def write_many(self, items: Iterable[tuple[str, bytes]]) -> int:
        """Store several small objects, each atomically, with one flush to disk for all."""

    def open(self, key: str) -> BinaryIO:
        """Read an object; ``FileNotFoundError`` when absent."""

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int: ...

    def modified(self, key: str) -> float:
        """When the object was written (seconds since the epoch)."""

    def touch(self, key: str) -> None:
        """Mark the object as just used, so gc's grace period protects it again."""

    def delete(self, key: str) -> None:
        """Remove an object; absent is fine."""

    def list_keys(self, prefix: str = "") -> Iterator[str]: ...

    def local_path(self, key: str) -> Path | None:
        """A path on this machine's disk (for hardlinks), or None for remote backends."""

    def remove_leftovers(self, older_than: float, *, dry_run: bool) -> tuple[int, int]:
        """What interrupted writes left behind (temp files) and last changed before
        ``older_than`` (seconds since the epoch): removed unless ``dry_run``; (count, bytes)."""

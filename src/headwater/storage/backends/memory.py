"""In-memory backend: the fake every contract test also runs against."""

from __future__ import annotations

import io
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO


class MemoryBackend:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.written: dict[str, float] = {}

    def write(self, key: str, chunks: Iterable[bytes]) -> int:
        data = b"".join(chunks)  # an error while iterating leaves nothing behind
        self.objects[key] = data
        self.written[key] = time.time()
        return len(data)

    def write_many(self, items: Iterable[tuple[str, bytes]]) -> int:
        staged = dict(items)
        for key, data in staged.items():
            self.write(key, [data])
        return sum(len(d) for d in staged.values())

    def open(self, key: str) -> BinaryIO:
        try:
            return io.BytesIO(self.objects[key])
        except KeyError:
            raise FileNotFoundError(key) from None

    def exists(self, key: str) -> bool:
        return key in self.objects

    def size(self, key: str) -> int:
        try:
            return len(self.objects[key])
        except KeyError:
            raise FileNotFoundError(key) from None

    def modified(self, key: str) -> float:
        try:
            return self.written[key]
        except KeyError:
            raise FileNotFoundError(key) from None

    def touch(self, key: str) -> None:
        if key in self.objects:
            self.written[key] = time.time()

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)
        self.written.pop(key, None)

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        yield from sorted(k for k in self.objects if k.startswith(prefix))

    def remove_leftovers(self, older_than: float, *, dry_run: bool) -> tuple[int, int]:
        return 0, 0  # a write lands whole or not at all: nothing is ever left behind

    def local_path(self, key: str) -> Path | None:
        return None

"""Blobs addressed by sha256, deduplicated across the whole server, verified on arrival."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from headwater.domain.errors import InvalidInput, NotFound
from headwater.storage.backends.base import ByteBackend

CHUNK = 1 << 20
_HASH = re.compile(r"[0-9a-f]{64}")


def check_hash(digest: str, *, where: str = "hash") -> str:
    if not _HASH.fullmatch(digest):
        raise InvalidInput(
            f"{digest[:80]!r} is not a sha256 hex digest",
            where=where,
            hint="Objects are named by the 64 lowercase hex digits of their sha256.",
        )
    return digest


def hash_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class HashMismatch(InvalidInput):
    """The bytes that arrived are not the bytes the hash names."""

    def __init__(self, digest: str, actual: str) -> None:
        super().__init__(
            f"the uploaded content hashes to {actual[:12]}…, not {digest[:12]}…",
            where=f"object {digest}",
            hint="The file changed while it was read, or the transfer was corrupted; sync again.",
        )


@dataclass(frozen=True)
class FsckReport:
    checked: int
    corrupt: list[str]
    missing: list[str]

    @property
    def ok(self) -> bool:
        return not self.corrupt and not self.missing


class ObjectStore:
    def __init__(self, backend: ByteBackend) -> None:
        self.backend = backend

    @staticmethod
    def key(digest: str) -> str:
        return f"{digest[:2]}/{digest[2:]}"

    def has(self, digest: str) -> bool:
        return self.backend.exists(self.key(digest))

    def missing(self, digests: Iterable[str]) -> list[str]:
        """The digests not stored. Stored ones are touched: a sync is about to reference them,
        so gc must treat them as new until its commit lands."""
        absent = []
        for digest in set(digests):
            key = self.key(check_hash(digest))
            if self.backend.exists(key):
                self.backend.touch(key)
            else:
                absent.append(digest)
        return sorted(absent)

    def put(self, data: bytes) -> str:
        digest = hash_bytes(data)
        if not self.has(digest):
            self.backend.write(self.key(digest), [data])
        return digest

    def put_stream(self, digest: str, chunks: Iterable[bytes]) -> int:
        """Store a blob that claims to be ``digest``; refused, storing nothing, if it is not."""
        check_hash(digest)
        hasher = hashlib.sha256()
        size = 0

        def verified() -> Iterator[bytes]:
            nonlocal size
            for chunk in chunks:
                hasher.update(chunk)
                size += len(chunk)
                yield chunk
            actual = hasher.hexdigest()
            if actual != digest:
                raise HashMismatch(digest, actual)

        if self.has(digest):
            for _ in verified():  # drain and still verify: never trust the claim
                pass
            self.backend.touch(self.key(digest))  # a commit is about to name it: young for gc
            return size
        self.backend.write(self.key(digest), verified())
        return size

    def put_many(self, blobs: Iterable[tuple[str, bytes]]) -> int:
        """Store small blobs that claim their digests; any mismatch refuses the whole batch."""
        fresh: dict[str, bytes] = {}
        for digest, data in blobs:
            check_hash(digest)
            actual = hash_bytes(data)
            if actual != digest:
                raise HashMismatch(digest, actual)
            if not self.has(digest):
                fresh[digest] = data
            else:
                self.backend.touch(self.key(digest))  # a commit is about to name it
        self.backend.write_many((self.key(d), data) for d, data in fresh.items())
        return len(fresh)

    def open(self, digest: str) -> BinaryIO:
        try:
            return self.backend.open(self.key(check_hash(digest)))
        except FileNotFoundError:
            raise NotFound(f"object {digest} is not stored", where="hash") from None

    def read(self, digest: str) -> bytes:
        with self.open(digest) as fh:
            return fh.read()

    def size(self, digest: str) -> int:
        return self.backend.size(self.key(digest))

    def local_path(self, digest: str) -> Path | None:
        return self.backend.local_path(self.key(digest))

    def modified(self, digest: str) -> float:
        return self.backend.modified(self.key(digest))

    def delete(self, digest: str) -> None:
        self.backend.delete(self.key(digest))

    def digests(self) -> Iterator[str]:
        for key in self.backend.list_keys():
            digest = key.replace("/", "")
            if _HASH.fullmatch(digest):
                yield digest

    def fsck(self, expected: Iterable[str] = ()) -> FsckReport:
        """Re-hash every stored blob; report corrupt ones and expected ones that are absent."""
        corrupt, checked = [], 0
        for digest in self.digests():
            checked += 1
            hasher = hashlib.sha256()
            with self.open(digest) as fh:
                while chunk := fh.read(CHUNK):
                    hasher.update(chunk)
            if hasher.hexdigest() != digest:
                corrupt.append(digest)
        missing = [d for d in sorted(set(expected)) if not self.has(d)]
        return FsckReport(checked=checked, corrupt=sorted(corrupt), missing=missing)


@dataclass(frozen=True)
class GcReport:
    removed: int
    bytes_freed: int
    kept_young: int
    leftovers: int = 0  # temp files of interrupted writes (their bytes are in bytes_freed)


def collect_garbage(
    store: ObjectStore, referenced: set[str], *, grace_seconds: float, now: float, dry_run: bool
) -> GcReport:
    """Remove blobs no commit reaches, and temp files that interrupted writes left. Whatever is
    younger than the grace period stays: an upload in progress has written those blobs but not
    yet committed the tree that names them, and its temp files are still being written."""
    removed = freed = young = 0
    for digest in list(store.digests()):
        if digest in referenced:
            continue
        if now - store.modified(digest) < grace_seconds:
            young += 1
            continue
        size = store.size(digest)
        if not dry_run:
            store.delete(digest)
        removed += 1
        freed += size
    leftovers, leftover_bytes = store.backend.remove_leftovers(now - grace_seconds, dry_run=dry_run)
    return GcReport(
        removed=removed,
        bytes_freed=freed + leftover_bytes,
        kept_young=young,
        leftovers=leftovers,
    )

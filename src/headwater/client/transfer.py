"""Moving blobs between a folder and the server, and keeping the ones already fetched.

Uploads ask which hashes the server lacks and send only those: small files many to a request
(``schemas.frames``), large ones streamed one by one, several requests at a time. Downloads land
in a local object cache first, verified by hash, so a second checkout of the same version reads
nothing from the network; files then come out of the cache as hardlinks where allowed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from headwater.client.http import HttpClient
from headwater.domain.errors import InvalidInput
from headwater.domain.paths import check_path
from headwater.domain.trees import EXEC_MODE, Entry, Tree
from headwater.schemas.frames import FrameReader, encode
from headwater.schemas.versions import CommitResult, HashList, MissingOut

SMALL = 1 << 20  # files below this travel in batches
BATCH_BYTES = 16 << 20
BATCH_FILES = 2000
MISSING_CHUNK = 50_000
DOWNLOAD_BATCH = 2000
WORKERS = 4
_CHUNK = 1 << 20


class Progress(Protocol):
    """What a transfer reports as it goes; the CLI draws bars from it."""

    def start(self, files: int, size: int) -> None: ...

    def advance(self, files: int, size: int) -> None: ...


class NoProgress:
    def start(self, files: int, size: int) -> None:
        pass

    def advance(self, files: int, size: int) -> None:
        pass


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            yield chunk


@dataclass(frozen=True)
class PushResult:
    files: int
    size: int


class ObjectCache:
    """Blobs by hash under one folder; read-only files that checkouts hardlink to."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / ".tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest[2:]

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def add(self, digest: str, data: bytes) -> None:
        if hashlib.sha256(data).hexdigest() != digest:
            raise InvalidInput(
                f"downloaded object {digest[:12]}… does not match its hash",
                where="download",
                hint="The transfer was corrupted; run the command again.",
            )
        fd, tmp = tempfile.mkstemp(dir=self._tmp)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, 0o444)
            target = self.path(digest)
            target.parent.mkdir(exist_ok=True)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def materialise(self, entry: Entry, root: Path, *, link: bool) -> None:
        """Put one file in place: a hardlink to the cache (read-only) or a private copy."""
        target = root / check_path(entry.path)
        if not target.resolve().is_relative_to(root.resolve()):
            raise InvalidInput(
                f"{entry.path} would be written outside {root}",
                where=entry.path,
                hint="A folder on the way is a link out of the tree; remove it.",
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() or target.is_symlink():
            target.unlink()
        source = self.path(entry.hash)
        if link:
            try:
                os.link(source, target)
                return
            except OSError:
                pass  # another filesystem: fall back to a copy
        shutil.copyfile(source, target)
        os.chmod(target, 0o755 if entry.mode == EXEC_MODE else 0o644)


class RepoTransfer:
    """One versioned tree on the server: ``base`` is e.g. ``/projects/ID/files``."""

    def __init__(self, http: HttpClient, base: str) -> None:
        self.http = http
        self.base = base

    def missing(self, digests: Iterable[str]) -> set[str]:
        wanted = sorted(set(digests))
        absent: set[str] = set()
        for i in range(0, len(wanted), MISSING_CHUNK):
            body = HashList(hashes=wanted[i : i + MISSING_CHUNK]).model_dump()
            answer = self.http.call("POST", f"{self.base}/objects/missing", MissingOut, json=body)
            absent.update(answer.missing)
        return absent

    def push(self, tree: Tree, paths: dict[str, Path], progress: Progress) -> PushResult:
        """Upload the blobs of ``tree`` that the server lacks."""
        absent = self.missing(e.hash for e in tree.entries)
        todo: dict[str, Entry] = {}
        for entry in tree.entries:
            if entry.hash in absent and entry.hash not in todo:
                todo[entry.hash] = entry
        size = sum(e.size for e in todo.values())
        progress.start(len(todo), size)
        small = [e for e in todo.values() if e.size < SMALL]
        large = [e for e in todo.values() if e.size >= SMALL]
        jobs = [lambda b=b: self._send_batch(b, paths, progress) for b in _batches(small)]
        jobs += [lambda e=e: self._send_one(e, paths, progress) for e in large]
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            for future in [pool.submit(job) for job in jobs]:
                future.result()
        return PushResult(files=len(todo), size=size)

    def _send_batch(self, batch: list[Entry], paths: dict[str, Path], progress: Progress) -> None:
        blobs = [(e.hash, paths[e.path].read_bytes()) for e in batch]
        self.http.request("POST", f"{self.base}/objects/batch", content=b"".join(encode(blobs)))
        progress.advance(len(batch), sum(len(d) for _, d in blobs))

    def _send_one(self, entry: Entry, paths: dict[str, Path], progress: Progress) -> None:
        self.http.request(
            "PUT", f"{self.base}/objects/{entry.hash}", content=_file_chunks(paths[entry.path])
        )
        progress.advance(1, entry.size)

    def commit(self, tree: Tree, *, base: str | None, message: str) -> CommitResult:
        body = {
            "base": base,
            "message": message,
            "entries": [
                {"path": e.path, "hash": e.hash, "size": e.size, "mode": e.mode}
                for e in tree.entries
            ],
        }
        return self.http.call("POST", f"{self.base}/commits", CommitResult, json=body)

    def fetch(self, entries: Iterable[Entry], cache: ObjectCache, progress: Progress) -> None:
        """Bring every blob of ``entries`` into ``cache``; those already there cost nothing."""
        todo: dict[str, int] = {}
        for entry in entries:
            if not cache.has(entry.hash):
                todo[entry.hash] = entry.size
        progress.start(len(todo), sum(todo.values()))
        hashes = sorted(todo)
        batches = [hashes[i : i + DOWNLOAD_BATCH] for i in range(0, len(hashes), DOWNLOAD_BATCH)]
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            futures = [pool.submit(self._fetch_batch, b, cache, progress) for b in batches]
            for future in futures:
                future.result()

    def _fetch_batch(self, hashes: list[str], cache: ObjectCache, progress: Progress) -> None:
        reader = FrameReader()
        body = HashList(hashes=hashes).model_dump()
        with self.http.stream("POST", f"{self.base}/objects/download", json=body) as response:
            for chunk in response.iter_bytes(_CHUNK):
                for digest, data in reader.feed(chunk):
                    cache.add(digest, data)
                    progress.advance(1, len(data))
        reader.close()


def _batches(entries: list[Entry]) -> Iterator[list[Entry]]:
    batch: list[Entry] = []
    size = 0
    for entry in entries:
        if batch and (size + entry.size > BATCH_BYTES or len(batch) >= BATCH_FILES):
            yield batch
            batch, size = [], 0
        batch.append(entry)
        size += entry.size
    if batch:
        yield batch


def checkout(tree: Tree, root: Path, cache: ObjectCache, *, link: bool) -> None:
    """Make ``root`` hold exactly the files of ``tree`` (others under it are left alone)."""
    for entry in tree.entries:
        cache.materialise(entry, root, link=link)

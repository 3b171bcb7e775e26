"""Moving blobs between a folder and the server.

Uploads ask which hashes the server lacks and send only those: small files many to a request
(``schemas.frames``), large ones streamed one by one, several requests at a time. Downloads land
in the local ``ObjectCache`` (verified by hash) and skip what it holds already: small blobs many
to a response, large ones streamed to disk, never held in memory whole.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol

from headwater.client.http import HttpClient
from headwater.client.objectcache import ObjectCache
from headwater.domain.trees import Entry, Tree
from headwater.schemas.frames import FrameReader, encode
from headwater.schemas.versions import CommitResult, HashList, MissingOut

SMALL = 1 << 20  # files below this travel in batches
BATCH_BYTES = 16 << 20
BATCH_FILES = 2000
MISSING_CHUNK = 50_000
DOWNLOAD_BATCH = 2000
WORKERS = 4
_CHUNK = 1 << 20
# Downloads are read in the pieces the connection delivers (64 KiB): asking httpx for other
# sizes makes it join and split them, a copy of every byte while holding the GIL.


# Told each blob's hash once the cache holds it, with the stat of the file it was lent to
# (see ``fetch``'s ``lend``), if it was.
Stored = Callable[[str, os.stat_result | None], object]
Lend = Callable[[str], str | None]


class Progress(Protocol):
    """What a transfer reports as it goes; the CLI draws bars from it. ``start`` begins a phase
    (``action`` is "Uploading" or "Downloading"); ``advance`` may come from several threads."""

    def start(self, action: str, files: int, size: int) -> None: ...

    def advance(self, files: int, size: int) -> None: ...


class NoProgress:
    def start(self, action: str, files: int, size: int) -> None:
        pass

    def advance(self, files: int, size: int) -> None:
        pass


def _file_chunks(path: str | Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            yield chunk


@dataclass(frozen=True)
class PushResult:
    files: int
    size: int


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

    def push(
        self,
        tree: Tree,
        paths: Mapping[str, str],
        progress: Progress,
        *,
        known: Iterable[str] = (),
    ) -> PushResult:
        """Upload the blobs of ``tree`` that the server lacks; ``known`` hashes are not asked
        about (the server has them: a commit it made references them)."""
        skip = set(known)
        absent = self.missing(e.hash for e in tree.entries if e.hash not in skip)
        todo: dict[str, Entry] = {}
        for entry in tree.entries:
            if entry.hash in absent and entry.hash not in todo:
                todo[entry.hash] = entry
        size = sum(e.size for e in todo.values())
        progress.start("Uploading", len(todo), size)
        small = [e for e in todo.values() if e.size < SMALL]
        large = [e for e in todo.values() if e.size >= SMALL]
        jobs = [partial(self._send_batch, b, paths, progress) for b in _batches(small)]
        jobs += [partial(self._send_one, e, paths, progress) for e in large]
        _run_all(jobs)
        return PushResult(files=len(todo), size=size)

    def _send_batch(self, batch: list[Entry], paths: Mapping[str, str], progress: Progress) -> None:
        blobs = [(e.hash, Path(paths[e.path]).read_bytes()) for e in batch]
        self.http.request("POST", f"{self.base}/objects/batch", content=b"".join(encode(blobs)))
        progress.advance(len(batch), sum(len(d) for _, d in blobs))

    def _send_one(self, entry: Entry, paths: Mapping[str, str], progress: Progress) -> None:
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

    def fetch(
        self,
        entries: Iterable[Entry],
        cache: ObjectCache,
        progress: Progress,
        *,
        stored: Stored | None = None,
        lend: Lend | None = None,
        held: dict[str, os.stat_result] | None = None,
    ) -> int:
        """Bring every blob of ``entries`` into ``cache``; those already there cost nothing.
        ``stored`` is called with each blob's hash once it is in the cache, from the thread
        that fetched it, so a checkout can proceed while other blobs still travel. ``lend``
        names, per hash, a path in a fresh folder that borrows a small blob as it is written
        (``ObjectCache.add``'s ``lend_to``): the checkout costs one link, no stat. ``held``
        is filled with the stat of each blob the cache held already (``ObjectCache.held``).
        Returns how many blobs came over the network."""
        todo: dict[str, int] = {}
        there = held if held is not None else {}
        for entry in entries:
            if entry.hash in todo or entry.hash in there:
                continue
            st = cache.held(entry.hash)
            if st is None:
                todo[entry.hash] = entry.size
            else:
                there[entry.hash] = st
        progress.start("Downloading", len(todo), sum(todo.values()))
        small = sorted(h for h, size in todo.items() if size < SMALL)
        large = sorted(h for h, size in todo.items() if size >= SMALL)
        batches = [small[i : i + DOWNLOAD_BATCH] for i in range(0, len(small), DOWNLOAD_BATCH)]
        done = stored or _nothing
        smalls = [partial(self._fetch_batch, b, cache, progress, done, lend) for b in batches]
        larges = [partial(self._fetch_one, h, cache, progress, done) for h in large]
        # Alternated: a batch of small blobs is mostly Python (the GIL), a large blob mostly
        # the kernel (reading, hashing and writing release it), so the threads overlap.
        jobs = [job for pair in zip(larges, smalls, strict=False) for job in pair]
        jobs += larges[len(smalls) :] + smalls[len(larges) :]
        _run_all(jobs)
        return len(todo)

    def _fetch_batch(
        self,
        hashes: list[str],
        cache: ObjectCache,
        progress: Progress,
        stored: Stored,
        lend: Lend | None,
    ) -> None:
        reader = FrameReader()
        body = HashList(hashes=hashes).model_dump()
        with self.http.stream("POST", f"{self.base}/objects/download", json=body) as response:
            for chunk in response.iter_bytes():  # as they arrive: re-chunking costs a copy
                for digest, data in reader.feed(chunk):
                    lent = cache.add(digest, data, lend_to=lend(digest) if lend else None)
                    stored(digest, lent)
                    progress.advance(1, len(data))
        reader.close()

    def _fetch_one(
        self, digest: str, cache: ObjectCache, progress: Progress, stored: Stored
    ) -> None:
        with self.http.stream("GET", f"{self.base}/objects/{digest}") as response:
            size = cache.add_stream(digest, response.iter_bytes())
        stored(digest, None)
        progress.advance(1, size)


def _nothing(digest: str, lent: os.stat_result | None) -> None:
    pass


def _run_all(jobs: list[partial[None]]) -> None:
    """Run ``jobs`` a few at a time; the first failure is raised once all have stopped."""
    if len(jobs) == 1:
        jobs[0]()
        return
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(job) for job in jobs]
        try:
            for future in futures:
                future.result()
        except BaseException:
            for future in futures:
                future.cancel()  # those not started yet; running ones finish first
            raise


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

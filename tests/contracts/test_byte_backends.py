"""One contract suite for every byte backend, and the object store on top of each."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.domain.errors import InvalidInput, NotFound
from headwater.storage.backends.base import ByteBackend
from headwater.storage.backends.local import LocalBackend
from headwater.storage.backends.memory import MemoryBackend
from headwater.storage.objects import HashMismatch, ObjectStore, collect_garbage


@pytest.fixture(params=["local", "memory"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> ByteBackend:
    if request.param == "local":
        return LocalBackend(tmp_path / "objects")
    return MemoryBackend()


def test_is_a_byte_backend(backend: ByteBackend) -> None:
    assert isinstance(backend, ByteBackend)


def test_write_read_size_delete(backend: ByteBackend) -> None:
    assert backend.write("ab/cd", [b"hello ", b"world"]) == 11
    assert backend.exists("ab/cd")
    assert backend.size("ab/cd") == 11
    with backend.open("ab/cd") as fh:
        assert fh.read() == b"hello world"
    assert list(backend.list_keys()) == ["ab/cd"]
    backend.delete("ab/cd")
    backend.delete("ab/cd")  # absent is fine
    assert not backend.exists("ab/cd")
    with pytest.raises(FileNotFoundError):
        backend.open("ab/cd")


def test_a_failed_write_leaves_nothing(backend: ByteBackend) -> None:
    def broken() -> Iterator[bytes]:
        yield b"partial"
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        backend.write("ab/ef", broken())
    assert not backend.exists("ab/ef")
    assert list(backend.list_keys()) == []


def test_a_failed_overwrite_keeps_the_old_object(backend: ByteBackend) -> None:
    backend.write("k/1", [b"old"])

    def broken() -> Iterator[bytes]:
        yield b"new"
        raise OSError("interrupted")

    with pytest.raises(OSError, match="interrupted"):
        backend.write("k/1", broken())
    with backend.open("k/1") as fh:
        assert fh.read() == b"old"


def test_object_store_verifies_and_deduplicates(backend: ByteBackend) -> None:
    store = ObjectStore(backend)
    data = b"x" * 3_000_000
    digest = hashlib.sha256(data).hexdigest()
    assert store.missing([digest]) == [digest]
    assert store.put_stream(digest, [data[:1_000_000], data[1_000_000:]]) == len(data)
    assert store.put_stream(digest, [data]) == len(data)  # again: stored once
    assert store.missing([digest]) == []
    assert store.read(digest) == data
    assert len(list(store.digests())) == 1


def test_object_store_refuses_content_that_does_not_match(backend: ByteBackend) -> None:
    store = ObjectStore(backend)
    claimed = hashlib.sha256(b"the real thing").hexdigest()
    with pytest.raises(HashMismatch, match="hashes to"):
        store.put_stream(claimed, [b"something else"])
    assert not store.has(claimed)
    assert list(backend.list_keys()) == []


def test_object_store_refuses_bad_names_and_reports_absence(backend: ByteBackend) -> None:
    store = ObjectStore(backend)
    with pytest.raises(InvalidInput, match="sha256"):
        store.put_stream("../../etc/passwd", [b""])
    with pytest.raises(NotFound):
        store.read("0" * 64)


def test_fsck_finds_corrupt_and_missing(backend: ByteBackend) -> None:
    store = ObjectStore(backend)
    good = store.put(b"good")
    bad = store.put(b"will rot")
    backend.delete(store.key(bad))
    backend.write(store.key(bad), [b"rotten"])
    absent = hashlib.sha256(b"never stored").hexdigest()
    report = store.fsck(expected=[good, absent])
    assert report.checked == 2
    assert report.corrupt == [bad]
    assert report.missing == [absent]
    assert not report.ok


def test_gc_removes_only_old_unreferenced_blobs(backend: ByteBackend) -> None:
    store = ObjectStore(backend)
    kept = store.put(b"referenced by a commit")
    orphan = store.put(b"orphan")
    written = store.modified(orphan)
    young = collect_garbage(store, {kept}, grace_seconds=3600, now=written + 10, dry_run=False)
    assert (young.removed, young.kept_young) == (0, 1)
    dry = collect_garbage(store, {kept}, grace_seconds=3600, now=written + 7200, dry_run=True)
    assert (dry.removed, dry.bytes_freed) == (1, len(b"orphan"))
    assert store.has(orphan)
    report = collect_garbage(store, {kept}, grace_seconds=3600, now=written + 7200, dry_run=False)
    assert report.removed == 1
    assert not store.has(orphan)
    assert store.has(kept)


def _age(backend: ByteBackend, key: str, seconds: float) -> None:
    """Pretend the object was written ``seconds`` ago."""
    then = time.time() - seconds
    if isinstance(backend, MemoryBackend):
        backend.written[key] = then
    else:
        path = backend.local_path(key)
        assert path is not None
        os.utime(path, (then, then))


def test_asking_for_missing_blobs_protects_the_present_ones_from_gc(backend: ByteBackend) -> None:
    store = ObjectStore(backend)
    orphan = store.put(b"about to be referenced again")
    forgotten = store.put(b"really unreferenced")
    for digest in (orphan, forgotten):
        _age(backend, store.key(digest), 7200)
    assert store.missing([orphan]) == []  # a sync found it present: it will reference it
    report = collect_garbage(store, set(), grace_seconds=3600, now=time.time(), dry_run=False)
    assert (report.removed, report.kept_young) == (1, 1)
    assert store.has(orphan)
    assert not store.has(forgotten)


def test_put_many_stores_verified_batches_whole(backend: ByteBackend) -> None:
    store = ObjectStore(backend)
    blobs = [(hashlib.sha256(d).hexdigest(), d) for d in (b"one", b"two", b"three")]
    assert store.put_many(blobs) == 3
    assert store.put_many(blobs) == 0  # all present already
    assert [store.read(h) for h, _ in blobs] == [b"one", b"two", b"three"]
    bad = [(hashlib.sha256(b"four").hexdigest(), b"four"), (blobs[0][0], b"not one")]
    with pytest.raises(HashMismatch):
        store.put_many(bad)
    assert not store.has(bad[0][0])  # nothing of a refused batch is stored

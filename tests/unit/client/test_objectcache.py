"""The client's object cache under concurrent fetches of one blob (a worker's tasks share it)."""

from __future__ import annotations

import errno
import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from headwater.client.objectcache import ObjectCache
from headwater.domain.trees import Entry


def _fetch_at_once(cache: ObjectCache, digest: str, data: bytes, fetches: int) -> list[Exception]:
    """``fetches`` threads add the same blob at the same moment; what they raised."""
    start = threading.Barrier(fetches)
    errors: list[Exception] = []

    def fetch() -> None:
        start.wait()
        try:
            cache.add(digest, data)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=fetch) for _ in range(fetches)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_many_fetches_of_one_blob_at_once_all_land_and_leave_it_whole(tmp_path: Path) -> None:
    for round_ in range(30):  # a fresh cache each round: the race is on creating its folder
        cache = ObjectCache(tmp_path / f"cache-{round_}")
        data = f"round {round_} ".encode() * 10_000
        digest = hashlib.sha256(data).hexdigest()
        assert _fetch_at_once(cache, digest, data, 8) == []
        assert cache.has(digest)
        assert cache.path(digest).read_bytes() == data


def test_a_new_blob_is_lent_to_a_fresh_folder_before_anyone_can_vouch_for_it(
    tmp_path: Path,
) -> None:
    cache = ObjectCache(tmp_path / "cache")
    if not cache.stamps:
        pytest.skip("this filesystem keeps no extended attributes: nothing is lent")
    data = b"rows\n" * 10
    digest = hashlib.sha256(data).hexdigest()
    entry = Entry("sub/rows.csv", digest, len(data))
    clone = tmp_path / "clone"
    target = cache.lend_target(entry, clone)
    assert target == str(clone / "sub" / "rows.csv")  # its folder made
    lent = cache.add(digest, data, lend_to=target)
    assert lent is not None
    assert lent.st_ino == os.stat(target).st_ino == cache.path(digest).stat().st_ino
    assert lent.st_nlink == 2
    assert cache.has(digest)  # stamped once lent: the stamp matches the stat it returned
    assert os.stat(target).st_mode & 0o777 == 0o644

    # Here already: not created by this call, so not lent (the checkout decides).
    assert cache.add(digest, data, lend_to=str(clone / "again.csv")) is None
    assert not (clone / "again.csv").exists()
    # Executables are copies, never links.
    assert cache.lend_target(Entry("run.sh", digest, len(data), 0o755), clone) is None


def _stored(cache: ObjectCache, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    cache.add(digest, data)
    return digest


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o277])
def test_a_copy_has_exactly_its_entry_s_mode_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    cache = ObjectCache(tmp_path / "cache")
    data = b"#!/bin/sh\necho hi\n"
    digest = _stored(cache, data)
    before = os.umask(umask)
    try:
        plain = cache.materialise(Entry("a.txt", digest, len(data)), tmp_path / "out", link=False)
        run = cache.materialise(
            Entry("run.sh", digest, len(data), 0o755), tmp_path / "out", link=False
        )
    finally:
        os.umask(before)
    assert plain.st_mode & 0o7777 == 0o644 == os.stat(tmp_path / "out" / "a.txt").st_mode & 0o7777
    assert run.st_mode & 0o7777 == 0o755 == os.stat(tmp_path / "out" / "run.sh").st_mode & 0o7777
    for name, placed in (("a.txt", plain), ("run.sh", run)):
        on_disk = os.stat(tmp_path / "out" / name)
        assert (placed.st_ino, placed.st_size, placed.st_mtime_ns) == (
            on_disk.st_ino,
            on_disk.st_size,
            on_disk.st_mtime_ns,
        )  # the stat returned is the file's as written: a stat cache may trust it
        assert (tmp_path / "out" / name).read_bytes() == data
    assert cache.path(digest).read_bytes() == data  # copies: the blob is its own inode
    assert os.stat(tmp_path / "out" / "run.sh").st_ino != cache.path(digest).stat().st_ino


def _fails_after_one_piece(real: Callable[..., int]) -> Callable[..., int]:
    """``real`` (a kernel copy; its last argument is the count) copies one small piece, then
    fails as it does across filesystems."""
    calls: list[int] = []

    def copy(*args: int) -> int:
        calls.append(1)
        if len(calls) > 1:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real(*args[:-1], min(args[-1], 1000))

    return copy


@pytest.mark.parametrize("failing", [("copy_file_range",), ("copy_file_range", "sendfile")])
def test_a_copy_falls_back_where_the_kernel_cannot_copy_between_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: tuple[str, ...]
) -> None:
    """Another filesystem: the bytes go through ``sendfile``, then through a buffer, and each
    fallback goes on from where the one before stopped."""
    cache = ObjectCache(tmp_path / "cache")
    data = os.urandom(3 << 20) + b"tail"  # several pieces of each kind of copy
    digest = _stored(cache, data)
    for name in failing:
        monkeypatch.setattr(os, name, _fails_after_one_piece(getattr(os, name)))
    placed = cache.materialise(Entry("big.bin", digest, len(data)), tmp_path / "out", link=False)
    assert (tmp_path / "out" / "big.bin").read_bytes() == data
    assert placed.st_size == len(data)


def test_a_held_blob_s_stat_stands_for_one_checkout_and_a_second_path_gets_a_copy(
    tmp_path: Path,
) -> None:
    cache = ObjectCache(tmp_path / "cache")
    if not cache.stamps:
        pytest.skip("this filesystem keeps no extended attributes: nothing is lent")
    data = b"rows\n" * 100
    digest = _stored(cache, data)
    held = cache.held(digest)
    assert held is not None
    assert held.st_nlink == 1
    clone = tmp_path / "clone"
    first = cache.materialise(
        Entry("a.csv", digest, len(data)), clone, link=False, lend=True, fresh=True, held=held
    )
    assert first.st_ino == held.st_ino  # lent: no copy
    assert first.st_nlink == 2
    # The same stale stat for a second path: the link would be the blob's third, so the
    # checkout notices and copies (an edit of one path never shows in the other).
    second = cache.materialise(
        Entry("b.csv", digest, len(data)), clone, link=False, lend=True, fresh=True, held=held
    )
    assert second.st_ino != held.st_ino
    assert os.stat(cache.path(digest)).st_nlink == 2
    with open(clone / "b.csv", "ab") as fh:
        fh.write(b"edited\n")
    assert (clone / "a.csv").read_bytes() == data == cache.path(digest).read_bytes()
    # An edited blob is not held: its stamp no longer matches.
    with open(clone / "a.csv", "ab") as fh:
        fh.write(b"edited\n")
    assert cache.held(digest) is None
    assert not cache.has(digest)

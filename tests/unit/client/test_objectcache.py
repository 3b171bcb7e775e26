"""The client's object cache under concurrent fetches of one blob (a worker's tasks share it)."""

from __future__ import annotations

import hashlib
import os
import threading
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

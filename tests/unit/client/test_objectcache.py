"""The client's object cache under concurrent fetches of one blob (a worker's tasks share it)."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from headwater.client.objectcache import ObjectCache


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

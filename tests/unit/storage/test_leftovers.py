"""gc removes what interrupted writes left on disk, never a write still in progress."""

from __future__ import annotations

import os
import time
from pathlib import Path

from headwater.storage.backends.local import LocalBackend
from headwater.storage.objects import ObjectStore, collect_garbage


def _leftover(path: Path, data: bytes, age: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def test_gc_removes_old_temp_files_and_keeps_young_ones_and_every_blob(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "objects")
    store = ObjectStore(backend)
    kept = store.put(b"referenced")
    folder = tmp_path / "objects" / kept[:2]
    crashed_stream = _leftover(tmp_path / "objects" / ".tmp" / "tmpab12", b"x" * 100, 7200)
    crashed_batch = _leftover(folder / ".tmp-4242.deadbeef.7", b"y" * 50, 7200)
    in_progress = _leftover(folder / ".tmp-4243.cafe.0", b"z" * 10, 5)

    dry = collect_garbage(store, {kept}, grace_seconds=3600, now=time.time(), dry_run=True)
    assert (dry.removed, dry.leftovers, dry.bytes_freed) == (0, 2, 150)
    assert crashed_stream.exists()
    assert crashed_batch.exists()

    report = collect_garbage(store, {kept}, grace_seconds=3600, now=time.time(), dry_run=False)
    assert (report.removed, report.leftovers, report.bytes_freed) == (0, 2, 150)
    assert not crashed_stream.exists()
    assert not crashed_batch.exists()
    assert in_progress.exists(), "a write still in progress was removed"
    assert store.read(kept) == b"referenced"
    assert list(store.digests()) == [kept]

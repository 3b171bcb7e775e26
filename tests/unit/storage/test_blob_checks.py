"""What a commit's tree may name: blobs in the caller's scope, stored, of the stated size."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import pytest

from headwater.domain.errors import InvalidInput
from headwater.domain.trees import Entry, Tree
from headwater.storage.backends.memory import MemoryBackend
from headwater.storage.objects import ObjectStore
from headwater.storage.versioning import SizeMismatch, Versioning


class Counting(ObjectStore):
    """Counts the stats a check makes: a one-file change must not measure the whole tree."""

    sized = 0

    def size(self, digest: str) -> int:
        self.sized += 1
        return super().size(digest)


def _no_log() -> AbstractContextManager[Any]:
    raise AssertionError("check_blobs needs no transaction")


@pytest.fixture
def store() -> Counting:
    return Counting(MemoryBackend())


def test_a_blob_outside_the_scope_is_not_uploaded_even_when_stored(store: Counting) -> None:
    held = store.put(b"someone else's")
    tree = Tree.of([Entry("x.bin", held, 14)])
    with pytest.raises(InvalidInput, match="not uploaded") as refused:
        Versioning(store, _no_log).check_blobs(tree, visible=set())
    assert refused.value.where == "entries"  # the client uploads and tries once more
    Versioning(store, _no_log).check_blobs(tree, visible={held})


def test_a_visible_blob_that_is_gone_counts_as_not_uploaded(store: Counting) -> None:
    gone = "0" * 64
    with pytest.raises(InvalidInput, match="not uploaded"):
        Versioning(store, _no_log).check_blobs(Tree.of([Entry("x", gone, 1)]), visible={gone})


def test_sizes_are_checked_unless_the_previous_tree_vouches(store: Counting) -> None:
    blobs = [store.put(f"file {i}".encode()) for i in range(50)]
    previous = Tree.of([Entry(f"f{i}", d, 6) for i, d in enumerate(blobs)])
    changed = Tree.of(
        [*(e for e in previous.entries if e.path != "f49"), Entry("f49", blobs[49], 7)]
    )
    store.sized = 0
    Versioning(store, _no_log).check_blobs(changed, visible=set(blobs), previous=previous)
    assert store.sized == 1
    wrong = Tree.of([*previous.entries, Entry("again", blobs[0], 60)])
    with pytest.raises(SizeMismatch, match="does not match") as refused:
        Versioning(store, _no_log).check_blobs(wrong, visible=set(blobs), previous=previous)
    assert refused.value.where == "again"

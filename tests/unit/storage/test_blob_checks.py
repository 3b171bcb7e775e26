"""What a commit's tree may name: blobs in the caller's scope, stored, of the stated size."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from headwater.domain.errors import InvalidInput
from headwater.domain.trees import Entry, Tree
from headwater.domain.versions import DEFAULT_BRANCH, BlobScope, Commit, RepoKind
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


class Log:
    """A commit log of one repository in memory, noting every digest it was asked about
    and every digest it was told to index: a one-file change must not look up the tree."""

    def __init__(self) -> None:
        self.commits: dict[str, Commit] = {}
        self.branch: str | None = None
        self.index: set[str] = set()
        self.asked: list[str] = []
        self.indexed: list[str] = []

    def head(self, repo_id: str, branch: str = DEFAULT_BRANCH) -> Commit | None:
        return self.commits[self.branch] if self.branch else None

    def resolve(self, repo_id: str, ref: str | None) -> Commit:
        return self.commits[ref or DEFAULT_BRANCH]

    def visible_objects(self, repo_id: str, scope: BlobScope, digests: Iterable[str]) -> set[str]:
        wanted = set(digests)
        self.asked.extend(wanted)
        return wanted  # all uploaded into this repository

    def add_commit(self, repo_id: str, branch: str, **fields: Any) -> Commit:
        assert fields["expected_head"] == self.branch
        self.indexed.extend(fields["hashes"])
        self.index.update(fields["hashes"])
        commit = Commit(
            id=f"c{len(self.commits)}",
            repo_id=repo_id,
            tree=fields["tree"],
            parents=fields["parents"],
            author=fields["author"],
            message=fields["message"],
            created_at=datetime.now(UTC),
            files=fields["files"],
            size=fields["size"],
        )
        self.commits[commit.id] = commit
        self.branch = commit.id
        return commit


def test_a_one_file_commit_looks_up_and_indexes_only_the_new_blob(store: Counting) -> None:
    log = Log()

    @contextmanager
    def transaction() -> Iterator[Log]:
        yield log

    versioning = Versioning(store, transaction)
    scope = BlobScope("p", frozenset({RepoKind.FILES}))
    blobs = [store.put(f"file {i:02}".encode()) for i in range(50)]
    first = [Entry(f"f{i}", d, 7) for i, d in enumerate(blobs)]
    c0 = versioning.commit("r", first, scope=scope, base=None, author="a", message="")
    assert sorted(log.asked) == sorted(log.indexed) == sorted(blobs)

    log.asked, log.indexed = [], []
    new = store.put(b"changed")
    second = [*first[:-1], Entry("f49", new, 7)]
    c1 = versioning.commit("r", second, scope=scope, base=c0.commit.id, author="a", message="")
    assert log.asked == [new]
    assert log.indexed == [new]

    # A merge onto a head that moved: the head's blobs are in the index already too.
    log.asked, log.indexed = [], []
    other = store.put(b"theirs")
    third = [*first[:10], Entry("f10", other, 6), *first[11:]]
    merged = versioning.commit("r", third, scope=scope, base=c0.commit.id, author="a", message="")
    assert merged.merged
    assert log.asked == [other]
    assert log.indexed == [other]
    assert log.index >= {e.hash for e in versioning.load_tree(merged.commit.tree).entries}
    assert c1.commit.id in merged.commit.parents

"""Committing trees: verify the blobs, merge when the branch moved, move it atomically.

Blobs are shared by digest across the whole server, so knowing a digest must not be enough to
reach its bytes: a commit may name only blobs the caller could read already (reachable from a
repository of the project that the caller may read) or that were uploaded into the repository
it commits to (the upload re-hashed the bytes, so whoever sent them had them). A digest
outside that scope is answered as missing and refused in a commit, the same as an absent one,
so the client uploads it and nothing tells it whether the server held it.

The commit log (branches and commit records) lives in the database; this module reaches it
through the ``CommitLog`` protocol, one transaction per attempt, so it never imports ``db``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import ClassVar, Protocol

from headwater.domain.errors import InvalidInput
from headwater.domain.paths import check_name
from headwater.domain.trees import Entry, Tree, merge
from headwater.domain.versions import DEFAULT_BRANCH, BlobScope, Commit, StaleHead
from headwater.storage.objects import ObjectStore

ATTEMPTS = 20


class SizeMismatch(InvalidInput):
    """A tree entry's size is not its blob's (422, like the request's own schema checks)."""

    status_code: ClassVar[int] = 422


class CommitLog(Protocol):
    def head(self, repo_id: str, branch: str = DEFAULT_BRANCH) -> Commit | None: ...

    def resolve(self, repo_id: str, ref: str | None) -> Commit: ...

    def visible_objects(
        self, repo_id: str, scope: BlobScope, digests: Iterable[str]
    ) -> set[str]: ...

    def add_commit(
        self,
        repo_id: str,
        branch: str,
        *,
        tree: str,
        parents: tuple[str, ...],
        author: str,
        message: str,
        files: int,
        size: int,
        expected_head: str | None,
        hashes: Iterable[str],
    ) -> Commit:
        """Write the commit and move ``branch`` to it (compare-and-swap on
        ``expected_head``), and add ``hashes`` to the repository's index. The index holds
        every blob of every commit of the repository, so ``hashes`` need not repeat those of
        the commits the new one was made from."""
        ...


@dataclass(frozen=True)
class CommitOutcome:
    commit: Commit
    merged: bool  # the branch had moved since ``base`` and the change was merged onto it
    unchanged: bool  # nothing differed from the head: no new commit was written


class Versioning:
    def __init__(
        self,
        objects: ObjectStore,
        transaction: Callable[[], AbstractContextManager[CommitLog]],
    ) -> None:
        self.objects = objects
        self.transaction = transaction

    def store_tree(self, tree: Tree) -> str:
        return self.objects.put(tree.encode())

    def load_tree(self, digest: str) -> Tree:
        return Tree.decode(self.objects.read(digest))

    def check_blobs(
        self, tree: Tree, *, visible: AbstractSet[str], previous: Tree | None = None
    ) -> None:
        """Refuse a tree naming a blob outside the caller's scope (``visible``) or absent from
        the store, or one whose size is not the stored blob's.

        An entry whose hash and size ``previous`` (the tree the change was made from) holds
        was checked when that tree was committed: a one-file change to a 10,000-file tree
        looks at one blob.
        """
        unseen = [e for e in tree.entries if e.hash not in visible]
        checked = {(e.hash, e.size) for e in previous.entries} if previous else set()
        fresh = [e for e in tree.entries if e.hash in visible and (e.hash, e.size) not in checked]
        missing = {e.hash for e in unseen} | set(self.objects.missing({e.hash for e in fresh}))
        if missing:
            first = min(missing)
            raise InvalidInput(
                f"{len(missing)} file(s) were not uploaded (first: {first[:12]}…)",
                where="entries",
                hint="Upload every missing object before committing; `hw sync` does both.",
            )
        sizes: dict[str, int] = {}
        for entry in fresh:
            size = sizes.get(entry.hash)
            if size is None:
                size = sizes[entry.hash] = self.objects.size(entry.hash)
            if size != entry.size:
                raise SizeMismatch(
                    f"{entry.path}: size {entry.size} does not match the stored object's "
                    f"{size} bytes",
                    where=entry.path,
                    hint="Sync again: the size must be the file's length in bytes.",
                )

    def commit(
        self,
        repo_id: str,
        entries: Iterable[Entry],
        *,
        scope: BlobScope,
        base: str | None,
        author: str,
        message: str,
        branch: str = DEFAULT_BRANCH,
    ) -> CommitOutcome:
        """Commit ``entries`` as the new state of ``branch``, as edited from ``base``.

        Every path ``base`` lacks must pass the name rules (``domain.paths.check_name``) and
        every blob be in ``scope`` (see the module docstring). When the branch moved past
        ``base``, the change is merged onto its head; paths changed on both sides refuse the
        whole commit (``MergeConflict``), so no update is lost.
        """
        tree = Tree.of(entries)
        base_tree = self._tree_at(repo_id, base) if base else Tree()
        # Paths ``base`` holds already pass: one committed before the rules existed must not
        # block every later commit of the project (the sync carries it over), only new ones.
        carried = {e.path for e in base_tree.entries}
        for entry in tree.entries:
            if entry.path not in carried:
                check_name(entry.path)
        # ``base`` is a commit of this repository, and every blob a commit of it names is in
        # its index (``add_commit`` records them all): only the rest need looking up.
        indexed = {e.hash for e in base_tree.entries}
        with self.transaction() as log:
            visible = log.visible_objects(
                repo_id, scope, {e.hash for e in tree.entries if e.hash not in indexed}
            )
        self.check_blobs(tree, visible=visible | indexed, previous=base_tree)
        stored = self.store_tree(tree)
        for _ in range(ATTEMPTS):
            try:
                # StaleHead must leave this block so the transaction rolls back.
                with self.transaction() as log:
                    head = log.head(repo_id, branch)
                    final, merged, digest = tree, False, stored
                    recorded = indexed
                    if head is not None and head.id != base:
                        theirs = self.load_tree(head.tree)
                        final = merge(base_tree, tree, theirs)
                        merged = True
                        digest = self.store_tree(final)
                        recorded = indexed | {e.hash for e in theirs.entries}
                    if head is not None and head.tree == digest:
                        return CommitOutcome(head, merged=merged, unchanged=True)
                    commit = log.add_commit(
                        repo_id,
                        branch,
                        tree=digest,
                        # a new branch (an experiment's) starts from the commit it was cut from
                        parents=(head.id,) if head else ((base,) if base else ()),
                        author=author,
                        message=message,
                        files=len(final),
                        size=final.size,
                        expected_head=head.id if head else None,
                        hashes=[e.hash for e in final.entries if e.hash not in recorded],
                    )
            except StaleHead:
                continue  # another sync landed first: merge onto it and try again
            return CommitOutcome(commit, merged=merged, unchanged=False)
        raise StaleHead(branch)

    def _tree_at(self, repo_id: str, ref: str) -> Tree:
        with self.transaction() as log:
            commit = log.resolve(repo_id, ref)
        return self.load_tree(commit.tree)

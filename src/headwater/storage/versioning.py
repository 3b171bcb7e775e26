"""Committing trees: verify the blobs, merge when the branch moved, move it atomically.

The commit log (branches and commit records) lives in the database; this module reaches it
through the ``CommitLog`` protocol, one transaction per attempt, so it never imports ``db``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from headwater.domain.errors import InvalidInput
from headwater.domain.trees import Entry, Tree, merge
from headwater.domain.versions import DEFAULT_BRANCH, Commit, StaleHead
from headwater.storage.objects import ObjectStore

ATTEMPTS = 20


class CommitLog(Protocol):
    def head(self, repo_id: str, branch: str = DEFAULT_BRANCH) -> Commit | None: ...

    def resolve(self, repo_id: str, ref: str | None) -> Commit: ...

    def known_objects(self, repo_id: str, digests: Iterable[str]) -> set[str]: ...

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
    ) -> Commit: ...


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

    def check_blobs(self, tree: Tree, *, known: AbstractSet[str] = frozenset()) -> None:
        """Refuse a tree naming a blob the server lacks, or one whose size is wrong.

        Blobs in ``known`` (referenced by earlier commits, so never collected) are not looked
        at again: a one-file change to a 10,000-file tree checks one blob.
        """
        fresh = [e for e in tree.entries if e.hash not in known]
        missing = self.objects.missing(e.hash for e in fresh)
        if missing:
            raise InvalidInput(
                f"{len(missing)} file(s) were not uploaded (first: {missing[0][:12]}…)",
                where="entries",
                hint="Upload every missing object before committing; `hw sync` does both.",
            )
        for entry in fresh:
            if self.objects.size(entry.hash) != entry.size:
                raise InvalidInput(
                    f"{entry.path}: size {entry.size} does not match the stored object",
                    where=entry.path,
                    hint="Sync again.",
                )

    def commit(
        self,
        repo_id: str,
        entries: Iterable[Entry],
        *,
        base: str | None,
        author: str,
        message: str,
        branch: str = DEFAULT_BRANCH,
    ) -> CommitOutcome:
        """Commit ``entries`` as the new state of ``branch``, as edited from ``base``.

        When the branch moved past ``base``, the change is merged onto its head; paths changed
        on both sides refuse the whole commit (``MergeConflict``), so no update is lost.
        """
        tree = Tree.of(entries)
        with self.transaction() as log:
            known = log.known_objects(repo_id, (e.hash for e in tree.entries))
        self.check_blobs(tree, known=known)
        self.store_tree(tree)
        base_tree = self._tree_at(repo_id, base) if base else Tree()
        for _ in range(ATTEMPTS):
            try:
                # StaleHead must leave this block so the transaction rolls back.
                with self.transaction() as log:
                    head = log.head(repo_id, branch)
                    final, merged = tree, False
                    if head is not None and head.id != base:
                        final = merge(base_tree, tree, self.load_tree(head.tree))
                        merged = True
                    digest = self.store_tree(final)
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
                        hashes=[e.hash for e in final.entries],
                    )
            except StaleHead:
                continue  # another sync landed first: merge onto it and try again
            return CommitOutcome(commit, merged=merged, unchanged=False)
        raise StaleHead(branch)

    def _tree_at(self, repo_id: str, ref: str) -> Tree:
        with self.transaction() as log:
            commit = log.resolve(repo_id, ref)
        return self.load_tree(commit.tree)

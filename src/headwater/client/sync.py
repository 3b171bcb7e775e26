"""Syncing a linked folder with its project's files (seed 000, Syncing), and cloning them.

A sync scans the folder (stat cache), uploads the blobs the server lacks, and commits the tree
as edited from the last synced commit. When the server moved meanwhile it merges, and the sync
then brings the server's changes into the folder: only files the server changed and the user
did not, checked again on disk right before each write, so a local edit is never overwritten.
Conflicting paths refuse the sync as a whole and nothing local changes. ``state.json`` is
written only once the commit has landed.

Ignored paths are not synced in either direction: a sync neither uploads nor deletes them, and
carries over the server's entries for them unchanged.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from headwater.client.linked import write_project_file
from headwater.client.objectcache import ObjectCache
from headwater.client.repos import RepoClient, tree_of
from headwater.client.transfer import SMALL, NoProgress, Progress, PushResult
from headwater.client.workspace import SyncState, Workspace
from headwater.domain.errors import Conflict, InvalidInput
from headwater.domain.paths import parents
from headwater.domain.trees import Entry, MergeConflict, Tree, merge
from headwater.schemas.versions import CommitOut, CommitResult

NOTHING = PushResult(files=0, size=0)


@dataclass(frozen=True)
class SyncReport:
    """What a sync did. ``commit`` is None only when nothing was ever synced nor to sync."""

    commit: CommitOut | None
    uploaded: PushResult = NOTHING
    merged: bool = False  # the server had moved on; the change was merged onto it
    unchanged: bool = False  # no new version was written
    incoming: int = 0  # changes from the server (files added, changed or removed)
    applied: int = 0  # of those, brought into the folder
    kept_local: list[str] = field(default_factory=list)  # not applied: changed here meanwhile


def sync_folder(
    repo: RepoClient,
    root: Path,
    cache: ObjectCache,
    *,
    message: str = "",
    progress: Progress | None = None,
) -> SyncReport:
    """Sync the linked folder ``root`` with ``repo``; see the module docstring."""
    progress = progress or NoProgress()
    workspace = Workspace(root)
    state = SyncState.load(root)
    before = replace(state)  # the last sync's view: the scan replaces ``files``
    found = workspace.survey(state)
    head: CommitOut | None = None
    asked = False
    if found.unchanged and state.local and all(map(workspace.excluded, state.kept)):
        # Every file as the last sync left it: the folder is the tree it agreed on, so one
        # request says whether anything is to do, and no tree is built unless it is.
        head, asked = repo.head(), True
        if head is not None and head.tree == state.local:
            if head.id != state.commit:
                state.moved_to(head.id)
                state.save(root)
            return SyncReport(head, unchanged=True)
    scanned, paths = found.tree, found.paths
    last = before.last_entries()
    carried = [e for e in last if e.path not in paths and workspace.excluded(e.path)]
    tree = Tree.of([*scanned.entries, *carried]) if carried else scanned
    digest = tree.digest
    if not asked:
        head = repo.head()
    if (head is None and not tree.entries) or (head is not None and head.tree == digest):
        if head is not None and (
            head.id != state.commit or not found.unchanged or state.local != digest
        ):
            state.agree(head.id, tree, digest)
            state.save(root)  # only when the server or the stat cache moved: saving costs
        return SyncReport(head, unchanged=True)
    uploaded = repo.transfer.push(scanned, paths, progress, known=before.known_hashes())
    result = _commit(repo, tree, scanned, paths, state.commit, message, progress)
    report = SyncReport(result, uploaded, merged=result.merged, unchanged=result.unchanged)
    if result.merged:
        merged = tree_of(repo.tree(result.id).entries)
        report = _bring_in(repo, workspace, state, tree, merged, cache, progress, report)
        state.agree(result.id, merged)
    else:
        state.agree(result.id, tree, digest)
    state.save(root)
    return report


def _commit(
    repo: RepoClient,
    tree: Tree,
    scanned: Tree,
    paths: dict[str, str],
    base: str | None,
    message: str,
    progress: Progress,
) -> CommitResult:
    """Commit, listing the conflicting paths exactly when the server refuses a merge."""
    try:
        return repo.transfer.commit(tree, base=base, message=message)
    except Conflict as exc:
        listed = _conflict(repo, tree, base)
        if listed is None:
            raise
        raise listed from exc
    except InvalidInput as exc:
        if exc.where != "entries":
            raise
    # A blob the last commit referenced is gone from the server (a deleted project's files
    # collected, a restored backup): upload everything it lacks, then try once more.
    repo.transfer.push(scanned, paths, progress)
    return repo.transfer.commit(tree, base=base, message=message)


def _conflict(repo: RepoClient, tree: Tree, base: str | None) -> MergeConflict | None:
    """The server's 409 names at most 20 paths in prose; the same merge here names them all."""
    old = tree_of(repo.tree(base).entries) if base else Tree()
    try:
        merge(old, tree, tree_of(repo.tree().entries))
    except MergeConflict as conflict:
        return conflict
    return None  # the server moved again since: its own error says what happened


def _bring_in(
    repo: RepoClient,
    workspace: Workspace,
    state: SyncState,
    ours: Tree,
    merged: Tree,
    cache: ObjectCache,
    progress: Progress,
    report: SyncReport,
) -> SyncReport:
    """Write the server's side of a merge into the folder where the user left the file alone."""
    root = workspace.root
    mine, theirs = ours.as_dict(), merged.as_dict()
    changed = [e for e in merged.entries if (m := mine.get(e.path)) is None or m != e]
    gone = [p for p in mine if p not in theirs]
    # Removals first: a file the server removed may be where its new folder goes.
    removed = [p for p in gone if p in state.files and state.unchanged(root, p)]
    for path in removed:
        (root / path).unlink()
        del state.files[path]
        _prune_folders(root, path)
    candidates = [e for e in changed if state.unchanged(root, e.path)]
    repo.transfer.fetch(candidates, cache, progress)
    written: set[str] = set()
    for entry in candidates:
        if not state.unchanged(root, entry.path):  # again, right before writing
            continue
        try:
            placed = cache.materialise(entry, root, link=False)
        except (NotADirectoryError, IsADirectoryError, FileExistsError):
            continue  # a local file or folder of the user's is in the way: kept, reported
        written.add(entry.path)
        if not workspace.excluded(entry.path):
            state.record(entry, placed)
    kept = sorted({e.path for e in changed if e.path not in written} | (set(gone) - set(removed)))
    kept = [p for p in kept if not workspace.excluded(p)]  # ignored files are not ours to sync
    incoming = len(changed) + len(gone)
    return SyncReport(
        report.commit,
        report.uploaded,
        merged=True,
        unchanged=report.unchanged,
        incoming=incoming,
        applied=len(written) + len(removed),
        kept_local=kept,
    )


def _prune_folders(root: Path, path: str) -> None:
    """Remove the folders a deletion left empty, as git does."""
    for folder in reversed(parents(path)):
        try:
            (root / folder).rmdir()
        except OSError:
            return  # not empty (or gone): the folders above are not empty either


def push_folder(
    repo: RepoClient,
    folder: Path,
    *,
    message: str = "",
    progress: Progress | None = None,
) -> tuple[CommitResult, PushResult]:
    """Make ``folder``'s files (``.hwignore`` honoured) the new version of a dataset or model.

    Edited from the latest version, so a file missing from ``folder`` is removed in the new
    version; a push that lands meanwhile is merged, or refused when both changed a path.
    """
    if not folder.is_dir():
        raise InvalidInput(
            f"{folder} is not a folder",
            where=str(folder),
            hint="Give the folder whose files should become the new version.",
        )
    tree, paths = Workspace(folder).scan(SyncState())
    head = repo.head()
    uploaded = repo.transfer.push(tree, paths, progress or NoProgress())
    return repo.transfer.commit(tree, base=head.id if head else None, message=message), uploaded


def clone_folder(
    repo: RepoClient,
    dest: Path,
    cache: ObjectCache,
    *,
    project_id: str,
    name: str,
    commit: str | None = None,
    progress: Progress | None = None,
) -> CommitOut | None:
    """Check out a version (the latest by default) into the new folder ``dest``, linked to the
    project and with a sync state, so `hw sync` there works at once. Built beside ``dest`` and
    renamed into place: an interrupted clone leaves no half folder. Returns the version, None
    for a project with no version yet."""
    _refuse_non_empty(dest)
    found = repo.tree(commit) if commit is not None or repo.head() is not None else None
    staging = dest.parent / f".{dest.name}.clone-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        state = SyncState()
        if found is not None:
            tree = tree_of(found.entries)
            placed = _fetch_and_checkout(repo, tree, staging, cache, progress or NoProgress())
            workspace = Workspace(staging)
            for entry in tree.entries:
                if not workspace.excluded(entry.path):
                    state.record(entry, placed[entry.path])
            state.agree(found.commit.id, tree)
        write_project_file(staging, project_id, name)
        state.save(staging)
        if dest.exists():
            dest.rmdir()
        staging.rename(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return found.commit if found is not None else None


def _fetch_and_checkout(
    repo: RepoClient, tree: Tree, staging: Path, cache: ObjectCache, progress: Progress
) -> dict[str, os.stat_result]:
    """Check ``tree`` out into the fresh folder ``staging``, each file as soon as its blob is
    in the cache (from the thread that fetched it), then the files whose blobs were there.
    A fresh folder borrows the blobs nothing else links to: it copies nothing."""
    by_hash: dict[str, list[Entry]] = {}
    for entry in tree.entries:
        by_hash.setdefault(entry.hash, []).append(entry)
    placed: dict[str, os.stat_result] = {}
    checked: set[str] = set()

    def lend(digest: str) -> str | None:
        return cache.lend_target(by_hash[digest][0], staging, checked)

    def place(digest: str, lent: os.stat_result | None) -> None:
        entries = by_hash.get(digest, [])
        if lent is not None:  # the first path borrowed the blob as it was written
            placed[entries[0].path] = lent
            entries = entries[1:]
        for entry in entries:
            placed[entry.path] = cache.materialise(
                entry, staging, link=False, lend=True, fresh=True, checked=checked
            )

    held: dict[str, os.stat_result] = {}
    repo.transfer.fetch(tree.entries, cache, progress, stored=place, lend=lend, held=held)
    rest = [e for e in tree.entries if e.path not in placed]

    def put(share: list[Entry]) -> dict[str, os.stat_result]:
        # The stat ``fetch`` took of a held blob stands for its first path only: once that
        # path has borrowed the blob, the next must look again (and copy).
        return {
            e.path: cache.materialise(
                e,
                staging,
                link=False,
                lend=True,
                fresh=True,
                checked=checked,
                held=held.get(e.hash) if by_hash[e.hash][0] is e else None,
            )
            for e in share
        }

    # Blobs the cache held, copied (or lent): the large ones on a thread of their own (their
    # copies run in the kernel, without the GIL), the small ones here. More threads for the
    # small ones only fight over the GIL: each file is a few syscalls, each a GIL hand-off
    # (measured slower with 2, 4 and 8 threads than with one, on tmpfs and on ext4).
    large = [e for e in rest if e.size >= SMALL]
    small = [e for e in rest if e.size < SMALL]
    with ThreadPoolExecutor(max_workers=1) as pool:
        copying = pool.submit(put, large)
        placed.update(put(small))
        placed.update(copying.result())
    return placed


def _refuse_non_empty(dest: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise Conflict(
            f"{dest} exists and is not an empty folder",
            where=str(dest),
            hint="Name a new folder as the second argument, or remove that one.",
        )

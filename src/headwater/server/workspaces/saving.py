"""Saving a workspace: its folder's changes become a new version of the project's files on the
master branch, through the same three-way merge as ``hw sync`` (``storage.versioning``).

The base is the version the folder last agreed with: the one it started from, then each save's.
A save that had to merge others' changes brings those changes into the folder (as a sync
does), so the next save's base is again exactly what the folder holds. A path changed both
here and on the server refuses the whole save (``MergeConflict``): nothing is half-committed.

The folder is read where the local worker made it (``server/taskfolder.py``; never the
``runner.workdir`` a task reports, which it could forge): the server and the worker share a
machine. Folders the runtime fills (``data/``, ``input/``, the output folder),
Jupyter's checkpoints, the replica socket and anything ``.hwignore`` names are not the
project's files: what the base holds there is carried over untouched.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pathspec

from headwater.domain.errors import Conflict
from headwater.domain.trees import EXEC_MODE, FILE_MODE, Entry, Tree
from headwater.domain.versions import BlobScope, RepoKind
from headwater.storage.objects import ObjectStore
from headwater.storage.versioning import CommitOutcome, Versioning

IGNORE_FILE = ".hwignore"
# What the runtime or Jupyter puts in the folder: never saved as the project's files.
NOT_SAVED_DIRS = frozenset(
    {"data", "input", ".ipynb_checkpoints", "__pycache__", ".headwater", ".jupyter", ".git"}
)
NOT_SAVED_FILES = frozenset({"replica.sock", "replica.ready"})
MAX_FILE = 1 << 30


@dataclass(frozen=True)
class SaveRequest:
    folder: Path
    repo_id: str
    project_id: str
    base: str | None
    output_dir: str
    author: str
    message: str


def _ignored(folder: Path, output_dir: str) -> Callable[[str], bool]:
    lines: list[str] = []
    with_ignore = folder / IGNORE_FILE
    if with_ignore.is_file():
        lines = with_ignore.read_text(errors="replace").splitlines()
    spec = pathspec.PathSpec.from_lines("gitwildmatch", lines)
    top_dirs = NOT_SAVED_DIRS | {output_dir.strip("/").split("/")[0]}

    def ignored(path: str) -> bool:
        parts = path.split("/")
        if parts[0] in top_dirs or any(p in NOT_SAVED_DIRS for p in parts[:-1]):
            return True
        return path in NOT_SAVED_FILES or spec.match_file(path)

    return ignored


def _walk(folder: Path, ignored: Callable[[str], bool]) -> Iterator[tuple[str, Path, int]]:
    """(path, file, mode) of each regular file; links and sockets are not project files."""
    for top, dirs, files in os.walk(folder):
        rel_top = os.path.relpath(top, folder)
        prefix = "" if rel_top == "." else rel_top.replace(os.sep, "/") + "/"
        dirs[:] = sorted(d for d in dirs if not ignored(prefix + d + "/x"))
        for name in sorted(files):
            path = prefix + name
            full = Path(top) / name
            info = full.lstat()
            if not stat.S_ISREG(info.st_mode) or ignored(path):
                continue
            yield path, full, EXEC_MODE if info.st_mode & 0o100 else FILE_MODE


def folder_tree(objects: ObjectStore, request: SaveRequest, base: Tree) -> Tree:
    """The folder as a tree, its blobs stored; ignored paths of ``base`` carried over."""
    ignored = _ignored(request.folder, request.output_dir)
    entries: list[Entry] = [e for e in base.entries if ignored(e.path)]
    for path, full, mode in _walk(request.folder, ignored):
        if full.stat().st_size > MAX_FILE:
            raise Conflict(
                f"{path} is over {MAX_FILE >> 30} GiB",
                where=path,
                hint="Store large files in a dataset, or list them in .hwignore.",
            )
        data = full.read_bytes()
        entries.append(Entry(path, objects.put(data), len(data), mode))
    return Tree.of(entries)


def bring_in(objects: ObjectStore, folder: Path, ours: Tree, merged: Tree) -> None:
    """Write into the folder what the merge took from the server's side."""
    mine, theirs = ours.as_dict(), merged.as_dict()
    for path in mine.keys() - theirs.keys():
        (folder / path).unlink(missing_ok=True)
    for path, entry in theirs.items():
        if path in mine and mine[path].content == entry.content:
            continue
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(objects.read(entry.hash))
        target.chmod(0o755 if entry.mode == EXEC_MODE else 0o644)


def save(
    versioning: Versioning,
    request: SaveRequest,
    record_uploads: Callable[[list[str]], None],
) -> CommitOutcome:
    """Commit the folder onto master from ``request.base`` (merged when master moved)."""
    base = Tree()
    if request.base:
        with versioning.transaction() as log:
            tree = log.resolve(request.repo_id, request.base).tree
        base = versioning.load_tree(tree)
    ours = folder_tree(versioning.objects, request, base)
    record_uploads([e.hash for e in ours.entries])
    outcome = versioning.commit(
        request.repo_id,
        ours.entries,
        scope=BlobScope(request.project_id, frozenset({RepoKind.FILES})),
        base=request.base,
        author=request.author,
        message=request.message,
    )
    if outcome.merged:
        merged = versioning.load_tree(outcome.commit.tree)
        bring_in(versioning.objects, request.folder, ours, merged)
    return outcome

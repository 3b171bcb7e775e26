"""A task's artifacts: its output folder, committed on the experiment's own branch.

The branch ``experiments/<number>`` holds the project as the task started (the start tree)
with the output folder's files added or replaced, so one commit says both what ran and what
it made. With periodic sync the folder is committed while the task runs too, so a crash keeps
what was written; a folder that did not change since the last commit is not committed again.

The runtime reads the folder with the worker's rights, not the task's, so it never follows a
link out of the task's own folder: such a link, a dangling one, and anything that is not a
file (a fifo, a socket, a device), a name a commit may not hold (``domain.paths.check_name``)
and a folder past ``MAX_DEPTH`` are skipped and named in the task's log, and the rest is
committed. A commit that fails all the same fails the task (``Task.finish``): a run whose
artifacts were lost never ends ``success``.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from headwater.client.transfer import NoProgress, RepoTransfer
from headwater.client.workspace import LocalFile, SyncState, Workspace
from headwater.domain.paths import MAX_DEPTH, NameRefused, check_name, shown
from headwater.domain.trees import EXEC_MODE, FILE_MODE, Entry, Tree
from headwater.runtime.reporting import TaskApi, patiently
from headwater.schemas.versions import CommitResult


class OutputFolder(Workspace):
    """The output folder as the runtime may read it: links may lead anywhere inside the task's
    folder (``bound``), never out of it; what is skipped is kept in ``skipped``."""

    def __init__(self, root: Path, bound: Path) -> None:
        super().__init__(root)
        self.bound = bound.resolve()
        self.skipped: list[str] = []  # "path (why)", for the task's log

    def files(self) -> Iterator[LocalFile]:
        self.skipped = []
        yield from self._screened(self.root, "", 1)

    def _screened(self, folder: Path, prefix: str, depth: int) -> Iterator[LocalFile]:
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError as exc:
            self.skipped.append(f"{prefix or '.'} (cannot be read: {exc.strerror})")
            return
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            is_dir = entry.is_dir()  # follows links (only a stat), as the ignore rules should
            if self.ignored(rel, is_dir=is_dir):
                continue
            path = entry.path
            if entry.is_symlink():
                try:
                    target = Path(entry.path).resolve(strict=True)
                except (OSError, RuntimeError):
                    self.skipped.append(f"{rel} (a link that leads nowhere)")
                    continue
                if not target.is_relative_to(self.bound):
                    self.skipped.append(f"{rel} (a link to {target}, outside the task's folder)")
                    continue
                if is_dir:
                    continue  # a folder's files are committed where they really are
                path = str(target)  # read the file itself: the link may change meanwhile
            if is_dir:
                if depth >= MAX_DEPTH:  # checked going down: a deep folder never recurses
                    self.skipped.append(f"{shown(rel)}/ (deeper than {MAX_DEPTH} levels)")
                    continue
                yield from self._screened(Path(entry.path), rel + "/", depth + 1)
                continue
            st = os.stat(path, follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode):
                self.skipped.append(f"{rel} (not a file: a fifo, socket or device)")
                continue
            try:
                check_name(rel)  # the server would refuse the whole commit for it
            except NameRefused as exc:
                self.skipped.append(f"{shown(rel)} ({exc.detail})")
                continue
            mode = EXEC_MODE if st.st_mode & 0o111 else FILE_MODE
            yield LocalFile(rel, path, st.st_size, st.st_mtime_ns, st.st_ino, mode)


def output_tree(
    start: Tree, root: Path, output_dir: str, state: SyncState
) -> tuple[Tree, dict[str, str], list[str]]:
    """The start tree with the output folder's files added or replaced: what the experiment's
    branch holds. Returns it with where each output file is on disk, and what was skipped.
    ``state`` is the stat cache kept between periodic syncs, so files that did not change are
    not hashed again."""
    folder = root / output_dir
    if not folder.is_dir():
        return start, {}, []
    screened = OutputFolder(folder, root)
    scanned, paths = screened.scan(state)
    prefix = output_dir.strip("/") + "/"
    outputs = [Entry(prefix + e.path, e.hash, e.size, e.mode) for e in scanned.entries]
    kept = [e for e in start.entries if not e.path.startswith(prefix)]
    where = {prefix + rel: path for rel, path in paths.items()}
    return Tree.of([*kept, *outputs]), where, [prefix + s for s in screened.skipped]


class BranchTransfer(RepoTransfer):
    """Commits on a named branch (an experiment's); ``RepoTransfer.commit`` posts to the
    default branch."""

    def commit_on(self, tree: Tree, base: str | None, message: str, branch: str) -> str:
        body = {
            "base": base,
            "message": message,
            "branch": branch,
            "entries": [
                {"path": e.path, "hash": e.hash, "size": e.size, "mode": e.mode}
                for e in tree.entries
            ],
        }
        answer = self.http.call("POST", f"{self.base}/commits", CommitResult, json=body)
        return answer.id


class Outputs:
    """Commits one task's output folder; safe to call from the periodic sync and the end."""

    def __init__(
        self,
        api: TaskApi,
        root: Path,
        output_dir: str,
        branch: str,
        base: str | None,
        *,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.api = api
        self.say = say or (lambda line: None)  # the task's log
        self._named: set[str] = set()  # skipped entries already named (each sync rescans)
        self.root = root
        self.output_dir = output_dir
        self.branch = branch
        self.base = base  # the start commit: the branch's first parent
        self.start = Tree()  # set once the workspace is built
        self.last_commit: str | None = None
        self._last_tree: str | None = None
        self._state = SyncState()  # stat cache: a sync hashes only files that changed
        self._lock = threading.Lock()  # a periodic sync and the last commit never interleave
        self._transfer = BranchTransfer(api.http, f"/projects/{api.project_id}/files")

    def commit(self, message: str, *, record: bool = True) -> str | None:
        """The commit that holds the outputs now; None while there are none. ``record``:
        tell the server at once (the final one travels with the final report instead)."""
        with self._lock:
            tree, paths, skipped = output_tree(self.start, self.root, self.output_dir, self._state)
            for entry in skipped:
                if entry not in self._named:
                    self._named.add(entry)
                    self.say(f"output {entry}: skipped, not committed")
            if not paths and self.last_commit is None:
                return None
            digest = tree.digest
            if digest == self._last_tree:
                return self.last_commit
            transfer = self._transfer
            known = [e.hash for e in self.start.entries]  # the server has those already
            patiently(lambda: transfer.push(tree, paths, NoProgress(), known=known))
            base = self.last_commit or self.base
            made = patiently(lambda: transfer.commit_on(tree, base, message, self.branch))
            if record:
                http, path = self.api.http, f"{self.api.base}/output"
                patiently(lambda: http.request("POST", path, json={"commit": made}))
            self.last_commit, self._last_tree = made, digest
            return made

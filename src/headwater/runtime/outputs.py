"""A task's artifacts: its output folder, committed on the experiment's own branch.

The branch ``experiments/<number>`` holds the project as the task started (the start tree)
with the output folder's files added or replaced, so one commit says both what ran and what
it made. With periodic sync the folder is committed while the task runs too, so a crash keeps
what was written; a folder that did not change since the last commit is not committed again.
"""

from __future__ import annotations

import threading
from pathlib import Path

from headwater.client.transfer import NoProgress, RepoTransfer
from headwater.client.workspace import SyncState
from headwater.domain.trees import Tree
from headwater.runtime.reporting import TaskApi, patiently
from headwater.runtime.workspace import output_tree
from headwater.schemas.versions import CommitResult


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
        self, api: TaskApi, root: Path, output_dir: str, branch: str, base: str | None
    ) -> None:
        self.api = api
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
            tree, paths = output_tree(self.start, self.root, self.output_dir, self._state)
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

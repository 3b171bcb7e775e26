"""One versioned tree on the server: the project's files, one dataset or one model.

The three share every route below their base path (``/projects/ID/files``,
``/projects/ID/datasets/NAME``, ``/projects/ID/models/NAME``), so one class reads versions,
trees, file contents and diffs for all of them, and carries the ``RepoTransfer`` that moves their
blobs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

from headwater.client.http import HttpClient, Params
from headwater.client.transfer import RepoTransfer
from headwater.domain.paths import check_path
from headwater.domain.trees import Entry, Tree
from headwater.domain.versions import DEFAULT_BRANCH
from headwater.schemas.versions import CommitOut, DiffOut, EntryModel, PreviewOut, TreeOut

CommitList = list[CommitOut]
_CHUNK = 1 << 20


def tree_of(entries: list[EntryModel]) -> Tree:
    """The server's entries as a checked tree: a path that would escape a folder never gets
    as far as the disk, whoever sent it."""
    return Tree.of(Entry(e.path, e.hash, e.size, e.mode) for e in entries)


def _file_path(path: str) -> str:
    return quote(check_path(path), safe="/")


class RepoClient:
    """Versions, contents and diffs of one versioned tree; ``transfer`` moves its blobs."""

    def __init__(self, http: HttpClient, base: str) -> None:
        self._http = http
        self.base = base
        self.transfer = RepoTransfer(http, base)

    def versions(self, *, limit: int = 100, branch: str = DEFAULT_BRANCH) -> CommitList:
        """The newest versions first."""
        params: Params = {"limit": limit, "branch": branch}
        return self._http.call("GET", f"{self.base}/commits", CommitList, params=params)

    def head(self) -> CommitOut | None:
        """The latest version, or None before the first one."""
        latest = self.versions(limit=1)
        return latest[0] if latest else None

    def tree(self, commit: str | None = None) -> TreeOut:
        """The files of a version: a commit id (or a unique prefix), a branch, or the latest."""
        return self._http.call("GET", f"{self.base}/tree", TreeOut, params={"commit": commit})

    def content(self, path: str, *, commit: str | None = None) -> bytes:
        """One file's bytes at a version (the latest by default)."""
        url = f"{self.base}/content/{_file_path(path)}"
        return self._http.request("GET", url, params={"commit": commit}).content

    @contextmanager
    def open(self, path: str, *, commit: str | None = None) -> Iterator[Iterator[bytes]]:
        """One file's bytes as they arrive, for files too large to hold."""
        url = f"{self.base}/content/{_file_path(path)}"
        with self._http.stream("GET", url, params={"commit": commit}) as response:
            yield response.iter_bytes(_CHUNK)

    def diff(self, a: str, b: str | None = None, *, path: str | None = None) -> DiffOut:
        """What changed from version ``a`` to ``b`` (default: the latest), in a file or folder."""
        params: Params = {"a": a, "b": b, "path": check_path(path) if path else None}
        return self._http.call("GET", f"{self.base}/diff", DiffOut, params=params)

    def preview(self, path: str, *, commit: str | None = None, rows: int = 100) -> PreviewOut:
        """What the file viewer shows: CSV rows, text, notebook cells, or image facts."""
        url = f"{self.base}/preview/{_file_path(path)}"
        return self._http.call("GET", url, PreviewOut, params={"commit": commit, "rows": rows})

"""A project folder on disk: what to sync (``.hwignore``), and hashing with a stat cache.

The cache in ``.headwater/state.json`` remembers each file's size, mtime and inode with its
hash, so a sync re-reads only files that changed. A folder knows its project through
``.headwater/project.yml``.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pathspec
import yaml

from headwater.domain.errors import InvalidInput
from headwater.domain.trees import EXEC_MODE, FILE_MODE, Entry, Tree

META_DIR = ".headwater"
PROJECT_FILE = "project.yml"
STATE_FILE = "state.json"
IGNORE_FILE = ".hwignore"
ALWAYS_IGNORED = (f"{META_DIR}/",)
_CHUNK = 1 << 20


def find_root(start: Path | None = None) -> Path | None:
    """The nearest folder, from ``start`` upwards, that holds ``.headwater/project.yml``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / META_DIR / PROJECT_FILE).is_file():
            return folder
    return None


def read_project_file(root: Path) -> dict[str, str]:
    path = root / META_DIR / PROJECT_FILE
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise InvalidInput(
            f"{path}{line} is not valid YAML",
            where=f"{path}{line}",
            hint="Fix the file, or link the folder again with `hw link`.",
        ) from exc
    if not isinstance(data, dict) or not str(data.get("id") or ""):
        raise InvalidInput(
            f"{path} names no project id",
            where=str(path),
            hint="Link the folder again with `hw link`.",
        )
    return {str(k): str(v) for k, v in data.items()}


def write_project_file(root: Path, project_id: str, name: str) -> None:
    meta = root / META_DIR
    meta.mkdir(parents=True, exist_ok=True)
    (meta / PROJECT_FILE).write_text(
        "# Links this folder to its Headwater project.\n"
        + yaml.safe_dump({"id": project_id, "name": name}, sort_keys=False)
    )


def hash_path(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class SyncState:
    """What the folder last agreed with the server on, and the stat cache."""

    commit: str | None = None
    files: dict[str, list[int | str]] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path) -> SyncState:
        try:
            data = json.loads((root / META_DIR / STATE_FILE).read_text())
            return cls(commit=data.get("commit"), files=dict(data.get("files", {})))
        except (OSError, ValueError, AttributeError):
            return cls()  # a missing or damaged cache only costs re-hashing

    def save(self, root: Path) -> None:
        path = root / META_DIR / STATE_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"commit": self.commit, "files": self.files}))
        os.replace(tmp, path)


@dataclass(frozen=True)
class LocalFile:
    path: str  # relative, POSIX
    absolute: Path
    size: int
    mtime_ns: int
    inode: int
    mode: int


class Workspace:
    """A folder whose files are synced, with its ignore rules."""

    def __init__(self, root: Path, *, extra_ignores: tuple[str, ...] = ()) -> None:
        self.root = root.resolve()
        patterns = list(ALWAYS_IGNORED) + list(extra_ignores)
        ignore_file = self.root / IGNORE_FILE
        if ignore_file.is_file():
            patterns += ignore_file.read_text().splitlines()
        self.ignore = pathspec.PathSpec.from_lines("gitwildmatch", patterns)

    def ignored(self, rel: str, *, is_dir: bool) -> bool:
        return self.ignore.match_file(rel + "/" if is_dir else rel)

    def files(self) -> Iterator[LocalFile]:
        """Every file to sync. A link that leads outside the folder is refused."""
        yield from self._walk(self.root, "")

    def _walk(self, folder: Path, prefix: str) -> Iterator[LocalFile]:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            if entry.is_symlink():
                target = Path(entry.path).resolve()
                if not target.is_relative_to(self.root):
                    raise InvalidInput(
                        f"{rel} is a link to {target}, outside the project folder",
                        where=rel,
                        hint=f"Copy the file in, or add {rel} to {IGNORE_FILE}.",
                    )
                if target.is_dir():
                    continue  # its files are synced where they really are
            is_dir = entry.is_dir()
            if self.ignored(rel, is_dir=is_dir):
                continue
            if is_dir:
                yield from self._walk(Path(entry.path), rel + "/")
                continue
            st = entry.stat()
            if not stat.S_ISREG(st.st_mode):
                continue  # sockets, fifos, devices
            mode = EXEC_MODE if st.st_mode & 0o111 else FILE_MODE
            yield LocalFile(rel, Path(entry.path), st.st_size, st.st_mtime_ns, st.st_ino, mode)

    def scan(self, state: SyncState, *, workers: int = 4) -> tuple[Tree, dict[str, Path]]:
        """The folder as a tree, hashing only files the stat cache does not vouch for."""
        local = list(self.files())
        cached: dict[str, str] = {}
        todo: list[LocalFile] = []
        for f in local:
            hit = state.files.get(f.path)
            if hit is not None and hit[:3] == [f.size, f.mtime_ns, f.inode]:
                cached[f.path] = str(hit[3])
            else:
                todo.append(f)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for f, digest in zip(
                todo, pool.map(lambda f: hash_path(f.absolute), todo), strict=True
            ):
                cached[f.path] = digest
        state.files = {f.path: [f.size, f.mtime_ns, f.inode, cached[f.path]] for f in local}
        tree = Tree.of(Entry(f.path, cached[f.path], f.size, f.mode) for f in local)
        return tree, {f.path: f.absolute for f in local}

"""A project folder on disk: what to sync (``.hwignore``), and hashing with a stat cache.

The cache in ``.headwater/state.json`` remembers each file's size, mtime and inode with its
hash, so a sync re-reads only files that changed. The same file remembers what the folder last
agreed with the server on: that commit, its tree digest, and the entries of that tree the folder
does not sync (ignored paths), which a sync carries over untouched instead of deleting them.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from collections.abc import Container, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from headwater.client.linked import META_DIR
from headwater.domain.errors import InvalidInput
from headwater.domain.paths import MAX_DEPTH, check_name, too_deep
from headwater.domain.trees import EXEC_MODE, FILE_MODE, Entry, Tree

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

STATE_FILE = "state.json"
IGNORE_FILE = ".hwignore"
ALWAYS_IGNORED = (f"{META_DIR}/",)
_CHUNK = 1 << 20

StatKey = list[int]  # size, mtime_ns, inode


def hash_path(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def stat_key(st: os.stat_result) -> StatKey:
    """What says a file is unchanged without reading it."""
    return [st.st_size, st.st_mtime_ns, st.st_ino]


@dataclass
class SyncState:
    """What the folder last agreed with the server on, and the stat cache.

    ``files`` maps each synced path to ``[size, mtime_ns, inode, hash, mode]``; ``kept`` maps
    each path of the last commit that the folder does not sync to ``[hash, size, mode]``. As
    loaded, the two together are the tree of ``commit`` as this folder knows it, and ``local``
    says so: it is that tree's digest when ``files`` and ``kept`` form exactly that tree (not
    after a merge kept a local edit), else None. A scan that finds every file as the stat
    cache knew it then knows the folder's digest without building a tree.
    """

    commit: str | None = None
    tree: str | None = None
    files: dict[str, list[int | str]] = field(default_factory=dict)
    kept: dict[str, list[int | str]] = field(default_factory=dict)
    local: str | None = None

    @classmethod
    def load(cls, root: Path) -> SyncState:
        try:
            data = json.loads((root / META_DIR / STATE_FILE).read_text())
            return cls(
                commit=data.get("commit"),
                tree=data.get("tree"),
                files=dict(data.get("files", {})),
                kept=dict(data.get("kept", {})),
                local=data.get("local"),
            )
        except (OSError, ValueError, AttributeError, TypeError):
            return cls()  # a missing or damaged cache only costs re-hashing

    def save(self, root: Path) -> None:
        """Atomically, so a crash leaves the previous state rather than half of this one."""
        path = root / META_DIR / STATE_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        body = {
            "commit": self.commit,
            "tree": self.tree,
            "local": self.local,
            "files": self.files,
            "kept": self.kept,
        }
        tmp.write_text(json.dumps(body, separators=(",", ":")))
        os.replace(tmp, path)

    def known_hashes(self) -> set[str]:
        """Blobs the last commit referenced: the server has them, no need to ask."""
        return {str(v[3]) for v in self.files.values()} | {str(v[0]) for v in self.kept.values()}

    def last_entries(self) -> list[Entry]:
        """The entries of the last synced commit (call before a scan replaces ``files``)."""
        synced = [
            Entry(p, str(v[3]), int(v[0]), int(v[4]) if len(v) > 4 else FILE_MODE)
            for p, v in self.files.items()
        ]
        return synced + [Entry(p, str(v[0]), int(v[1]), int(v[2])) for p, v in self.kept.items()]

    def unchanged(self, root: Path, path: str) -> bool:
        """Whether ``path`` is as the last scan saw it (absent, when the scan did not see it)."""
        try:
            st = (root / path).lstat()
        except (FileNotFoundError, NotADirectoryError):
            return path not in self.files
        cached = self.files.get(path)
        return cached is not None and cached[:3] == stat_key(st)

    def record(self, entry: Entry, written: os.stat_result) -> None:
        """Remember a file just written from ``entry``, so the next scan need not read it."""
        self.files[entry.path] = [*stat_key(written), entry.hash, entry.mode]

    def agree(self, commit: str, tree: Tree, digest: str | None = None) -> None:
        """The folder now matches ``tree`` of ``commit`` (``digest``, when known already: it
        costs a pass over the tree); what it does not sync is kept."""
        self.commit = commit
        self.tree = digest or tree.digest
        self.kept = {
            e.path: [e.hash, e.size, e.mode] for e in tree.entries if e.path not in self.files
        }
        self.local = self.tree if self._describes(tree) else None

    def _describes(self, tree: Tree) -> bool:
        """Whether ``files`` and ``kept`` are exactly ``tree`` (a merge may keep local edits)."""
        if len(self.files) + len(self.kept) != len(tree.entries):
            return False
        files = self.files
        for e in tree.entries:
            cached = files.get(e.path)
            if cached is not None and (
                cached[3] != e.hash or (cached[4] if len(cached) > 4 else FILE_MODE) != e.mode
            ):
                return False
        return True  # each entry is in files (same content) or in kept (made from it)

    def moved_to(self, commit: str) -> None:
        """The server's latest commit ``commit`` holds exactly the tree this folder agreed on."""
        self.commit = commit


class LocalFile(NamedTuple):
    """One file a scan found. A tuple, and strings rather than Paths: a scan makes one per
    file, and a frozen dataclass costs several times more to build."""

    path: str  # relative, POSIX
    absolute: str
    size: int
    mtime_ns: int
    inode: int
    mode: int


class Scan:
    """What a scan found: the files, each one's hash, and whether the stat cache knew every
    one of them as it is (``unchanged``). The tree is built on first use: a sync that finds
    nothing changed never needs it."""

    def __init__(self, local: list[LocalFile], hashes: dict[str, str], unchanged: bool) -> None:
        self.local = local
        self.hashes = hashes
        self.unchanged = unchanged  # same paths as the stat cache, each with the same stat

    @cached_property
    def tree(self) -> Tree:
        hashes = self.hashes
        return Tree.of(Entry(f.path, hashes[f.path], f.size, f.mode) for f in self.local)

    @cached_property
    def paths(self) -> dict[str, str]:
        """Where each file is on disk."""
        return {f.path: f.absolute for f in self.local}


def _loop(rel: str, why: str | None) -> InvalidInput:
    return InvalidInput(
        f"{rel} is a symbolic link that leads round in a loop ({why})",
        where=rel,
        hint=f"Remove the link or point it at a real file, or add {rel} to {IGNORE_FILE}.",
    )


class Workspace:
    """A folder whose files are synced, with its ignore rules."""

    def __init__(self, root: Path, *, extra_ignores: tuple[str, ...] = ()) -> None:
        self.root = root.resolve()
        patterns = list(ALWAYS_IGNORED) + list(extra_ignores)
        ignore_file = self.root / IGNORE_FILE
        if ignore_file.is_file():
            patterns += ignore_file.read_text().splitlines()
        # With no rules but the folder's own state, a name is matched instead of the pattern,
        # which costs a microsecond or two per file (most of a scan of unchanged files), and
        # pathspec is not even imported (tens of milliseconds of every `hw sync`).
        self._only_meta = patterns == list(ALWAYS_IGNORED)
        self.ignore: GitIgnoreSpec | None = None
        if not self._only_meta:
            import pathspec

            self.ignore = pathspec.GitIgnoreSpec.from_lines(patterns)
        self._folders: dict[str, bool] = {}  # folder -> whether it or one above is ignored
        self._named: Container[str] = ()  # paths whose names were checked by an earlier scan

    def ignored(self, rel: str, *, is_dir: bool) -> bool:
        if self.ignore is None:  # `.headwater/`: a folder of that name anywhere, and all in it
            return f"/{META_DIR}/" in (f"/{rel}/" if is_dir else f"/{rel}")
        return self.ignore.match_file(rel + "/" if is_dir else rel)

    def excluded(self, rel: str) -> bool:
        """Whether a sync leaves ``rel`` alone: the file or a folder above it is ignored."""
        folder = rel.rpartition("/")[0]
        return (bool(folder) and self._folder_excluded(folder)) or self.ignored(rel, is_dir=False)

    def _folder_excluded(self, folder: str) -> bool:
        """Each folder is matched once per workspace: a tree has far fewer folders than files."""
        known = self._folders.get(folder)
        if known is None:
            above = folder.rpartition("/")[0]
            known = (bool(above) and self._folder_excluded(above)) or self.ignored(
                folder, is_dir=True
            )
            self._folders[folder] = known
        return known

    def files(self) -> Iterator[LocalFile]:
        """Every file to sync. Refused, naming the path: a link that leads outside the folder
        or round in a loop, and a path a commit may not hold (``domain.paths.check_name``)."""
        found: list[LocalFile] = []
        self._walk(self.root, "", 1, found)
        return iter(found)

    def _walk(self, folder: Path | str, prefix: str, depth: int, found: list[LocalFile]) -> None:
        """Append the files under ``folder`` to ``found``: a list, not nested generators, whose
        every file would pass through one ``yield`` per level."""
        add = found.append
        with os.scandir(folder) as it:
            entries = list(it)  # in no order: the tree sorts itself
        only_meta, named = self._only_meta, self._named
        for entry in entries:
            name = entry.name
            rel = prefix + name
            try:
                is_dir = entry.is_dir()  # follows links, as the ignore rules should
            except OSError as exc:  # a link in a loop (ELOOP), or one we may not follow
                if self.ignored(rel, is_dir=False):
                    continue
                if exc.errno != errno.ELOOP:
                    raise InvalidInput(
                        f"{rel} cannot be read: {exc.strerror}",
                        where=rel,
                        hint=f"Fix its permissions, or add {rel} to {IGNORE_FILE}.",
                    ) from None
                raise _loop(rel, exc.strerror) from None
            if only_meta:
                if is_dir and name == META_DIR:
                    continue  # what `.headwater/` matches; the walk never enters such a folder
            elif self.ignored(rel, is_dir=is_dir):
                continue  # an ignored link may point anywhere: it is never read
            if entry.is_symlink():
                try:
                    target = Path(entry.path).resolve()
                except (OSError, RuntimeError) as exc:  # 3.11 says RuntimeError for a loop
                    raise _loop(rel, str(exc)) from None
                if not target.is_relative_to(self.root):
                    raise InvalidInput(
                        f"{rel} is a link to {target}, outside the project folder",
                        where=rel,
                        hint=f"Copy the file in, or add {rel} to {IGNORE_FILE}.",
                    )
                if is_dir or not target.exists():
                    continue  # a folder's files are synced where they really are
            if is_dir:
                if depth >= MAX_DEPTH:  # checked going down, so a deep folder never recurses
                    raise too_deep(f"{rel}/…", depth + 1)
                self._walk(entry.path, rel + "/", depth + 1, found)
                continue
            st = entry.stat()
            if not stat.S_ISREG(st.st_mode):
                continue  # sockets, fifos, devices
            if rel not in named:
                check_name(rel)  # the server would refuse it: say so before uploading anything
            mode = EXEC_MODE if st.st_mode & 0o111 else FILE_MODE
            add(LocalFile(rel, entry.path, st.st_size, st.st_mtime_ns, st.st_ino, mode))

    def scan(self, state: SyncState, *, workers: int = 4) -> tuple[Tree, dict[str, str]]:
        """The folder as a tree, hashing only files the stat cache does not vouch for, and
        where each file is on disk. ``state.files`` becomes the cache of this scan."""
        found = self.survey(state, workers=workers)
        return found.tree, found.paths

    def survey(self, state: SyncState, *, workers: int = 4) -> Scan:
        """The folder's files with their hashes, hashing only files the stat cache does not
        vouch for (a path it holds was named by an earlier scan: its name is not checked
        again). ``state.files`` becomes the cache of this scan (saved by the caller when it
        wants); it is left as it was when it knew every file as it is."""
        files = state.files
        self._named = files
        try:
            local = list(self.files())
        finally:
            self._named = ()
        hashes: dict[str, str] = {}
        todo: list[LocalFile] = []
        same = len(local) == len(files)
        for f in local:
            hit = files.get(f.path)
            if (
                hit is not None
                and hit[0] == f.size
                and hit[1] == f.mtime_ns
                and hit[2] == f.inode
                and (hit[4] if len(hit) > 4 else FILE_MODE) == f.mode
            ):
                hashes[f.path] = str(hit[3])
            elif hit is not None and hit[:3] == [f.size, f.mtime_ns, f.inode]:
                hashes[f.path] = str(hit[3])  # only its mode changed: its bytes did not
                same = False
            else:
                todo.append(f)
        if todo:
            same = False
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for f, digest in zip(
                    todo, pool.map(lambda f: hash_path(f.absolute), todo), strict=True
                ):
                    hashes[f.path] = digest
        if not same:
            state.files = {
                f.path: [f.size, f.mtime_ns, f.inode, hashes[f.path], f.mode] for f in local
            }
        return Scan(local, hashes, same)

"""The local object cache, and putting its blobs in place as files.

Blobs land here by hash, verified before they become visible, so a second checkout of a version
reads nothing from the network. Files come out as hardlinks where the caller allows (read-only
views such as the data cache: a hardlinked file is the cached blob itself, so it stays read-only)
or as private copies with the entry's mode (folders people edit).

A checkout writes thousands of files, so this module works with string paths and file
descriptors rather than ``Path`` objects, and stats each file once, from the open descriptor.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from headwater.domain.errors import InvalidInput
from headwater.domain.paths import check_path
from headwater.domain.trees import EXEC_MODE, FILE_MODE, Entry, Tree


def _corrupt(digest: str) -> InvalidInput:
    return InvalidInput(
        f"downloaded object {digest[:12]}… does not match its hash",
        where="download",
        hint="The transfer was corrupted; run the command again.",
    )


class ObjectCache:
    """Blobs by hash under one folder; read-only files that checkouts hardlink to."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._base = str(root)
        self._tmp = root / ".tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def path(self, digest: str) -> Path:
        return Path(self.blob(digest))

    def blob(self, digest: str) -> str:
        return os.path.join(self._base, digest[:2], digest[2:])

    def has(self, digest: str) -> bool:
        return os.path.isfile(self.blob(digest))

    def add(self, digest: str, data: bytes) -> None:
        if hashlib.sha256(data).hexdigest() != digest:
            raise _corrupt(digest)
        self._store(digest, lambda fh: fh.write(data))

    def add_stream(self, digest: str, chunks: Iterable[bytes]) -> int:
        """Store a blob as it arrives, verifying its hash before it becomes visible."""
        hasher = hashlib.sha256()
        size = 0

        def write(fh: BinaryIO) -> None:
            nonlocal size
            for chunk in chunks:
                hasher.update(chunk)
                fh.write(chunk)
                size += len(chunk)
            if hasher.hexdigest() != digest:
                raise _corrupt(digest)

        self._store(digest, write)
        return size

    def _store(self, digest: str, write: Callable[[BinaryIO], object]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self._tmp)
        try:
            with os.fdopen(fd, "wb") as fh:
                write(fh)
            os.chmod(tmp, 0o444)
            target = self.blob(digest)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def materialise(
        self,
        entry: Entry,
        root: Path,
        *,
        link: bool,
        fresh: bool = False,
        checked: set[str] | None = None,
    ) -> os.stat_result:
        """Put one file in place and return its stat: a hardlink to the cache (only for plain
        files, when ``link``) or a private copy with the entry's mode.

        In a folder people use it replaces the file atomically; in a ``fresh`` folder (a
        staging folder nobody sees yet) it writes directly. ``checked`` remembers the folders
        already verified to lie inside ``root``, so a checkout resolves each folder once.
        """
        target = os.path.join(root, check_path(entry.path))
        _check_folder(entry.path, os.path.dirname(target), root, checked)
        source = self.blob(entry.hash)
        if fresh:
            return _place(source, target, entry, link=link)
        folder, name = os.path.split(target)
        staged = os.path.join(folder, f".{name}.hw-{os.getpid()}")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staged)
        try:
            placed = _place(source, staged, entry, link=link)
            os.replace(staged, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(staged)
            raise
        return placed


def _check_folder(path: str, folder: str, root: Path, checked: set[str] | None) -> None:
    """Refuse to write through a link that leads out of ``root``; create the folder."""
    if checked is not None and folder in checked:
        return
    if not Path(folder).resolve().is_relative_to(root.resolve()):
        raise InvalidInput(
            f"{path} would be written outside {root}",
            where=path,
            hint="A folder on the way is a link out of the tree; remove it.",
        )
    os.makedirs(folder, exist_ok=True)
    if checked is not None:
        checked.add(folder)


def _place(source: str, target: str, entry: Entry, *, link: bool) -> os.stat_result:
    if link and entry.mode == FILE_MODE:
        try:
            os.link(source, target)
            return os.stat(target)
        except OSError:
            pass  # another filesystem, or one without hardlinks: copy instead
    mode = 0o755 if entry.mode == EXEC_MODE else 0o644
    with open(source, "rb") as src:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with open(fd, "wb") as dst:
            if entry.size:
                _copy(src, dst, entry.size)
            os.fchmod(fd, mode)  # exactly the entry's mode, whatever the umask
            dst.flush()
            return os.fstat(fd)


def _copy(src: BinaryIO, dst: BinaryIO, size: int) -> None:
    """In the kernel where it can (sendfile), else through a buffer."""
    offset = 0
    try:
        while offset < size:
            sent = os.sendfile(dst.fileno(), src.fileno(), offset, size - offset)
            if sent == 0:
                break
            offset += sent
    except OSError:
        src.seek(offset)
        dst.seek(offset)
        shutil.copyfileobj(src, dst)


def checkout(
    tree: Tree | Iterable[Entry],
    root: Path,
    cache: ObjectCache,
    *,
    link: bool,
    fresh: bool = False,
) -> dict[str, os.stat_result]:
    """Write every entry of ``tree`` under ``root`` from the cache (others are left alone);
    ``fresh``: ``root`` is a new folder nobody uses yet, so files need no atomic replace.
    Returns each written file's stat, for a stat cache."""
    checked: set[str] = set()
    return {
        entry.path: cache.materialise(entry, root, link=link, fresh=fresh, checked=checked)
        for entry in (tree.entries if isinstance(tree, Tree) else tree)
    }

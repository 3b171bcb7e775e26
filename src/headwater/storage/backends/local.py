"""Objects as files under a root folder: temp file, fsync, rename."""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

_TEMP = ".tmp-"  # the start of a temp file's name beside its key: never a valid key
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL


class LocalBackend:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._tmp = root / ".tmp"
        self._tmp.mkdir(exist_ok=True)
        self._base = str(root)
        self._token = secrets.token_hex(4)  # with the pid and a count: unique temp names
        self._names = itertools.count()
        self._folders: set[str] = set()  # key folders known to exist

    def _path(self, key: str) -> Path:
        return self.root / key

    def write(self, key: str, chunks: Iterable[bytes]) -> int:
        target = self._path(key)
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp)
        written = 0
        try:
            with os.fdopen(fd, "wb") as fh:
                for chunk in chunks:
                    fh.write(chunk)
                    written += len(chunk)
                fh.flush()
                os.fsync(fh.fileno())
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(tmp_name, 0o444)  # objects never change once written
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return written

    def write_many(self, items: Iterable[tuple[str, bytes]]) -> int:
        # fsync per file costs ~0.3-2 ms each on ext4; one sync for the batch costs about the
        # same as a single fsync, and the renames still publish each object whole or not at all.
        # Thousands of small files: plain descriptors and string paths, one syscall each step.
        staged: list[tuple[str, str]] = []
        written = 0
        pid = os.getpid()
        try:
            for key, data in items:
                # Beside its target: a rename within one folder costs a third of one across
                # folders (which the kernel serialises filesystem-wide). Never a valid key.
                folder = self._folder(key)
                tmp = f"{folder}/{_TEMP}{pid}.{self._token}.{next(self._names)}"
                try:
                    fd = os.open(tmp, _NEW, 0o444)
                except FileNotFoundError:  # its folder was removed since we made it
                    os.makedirs(folder, exist_ok=True)
                    fd = os.open(tmp, _NEW, 0o444)
                staged.append((key, tmp))
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view) :]
                finally:
                    os.close(fd)
                os.chmod(tmp, 0o444)  # whatever the umask: objects never change once written
                written += len(data)
            os.sync()
            while staged:
                key, tmp = staged[-1]
                os.rename(tmp, f"{self._base}/{key}")
                staged.pop()
        except BaseException:
            for _, tmp in staged:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
            raise
        return written

    def _folder(self, key: str) -> str:
        """The folder of ``key``, created (checked once per process)."""
        folder = f"{self._base}/{key.rpartition('/')[0]}"
        if folder not in self._folders:
            os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)
        return folder

    def open(self, key: str) -> BinaryIO:
        return open(f"{self._base}/{key}", "rb")  # a string path: a download opens thousands

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def modified(self, key: str) -> float:
        return self._path(key).stat().st_mtime

    def touch(self, key: str) -> None:
        os.utime(self._path(key))

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        base = self.root / prefix if prefix else self.root
        if not base.exists():
            return
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if d != ".tmp"]
            for name in filenames:
                if name.startswith(_TEMP):
                    continue  # a write in progress (or one a crash left behind)
                yield Path(dirpath, name).relative_to(self.root).as_posix()

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def remove_leftovers(self, older_than: float, *, dry_run: bool) -> tuple[int, int]:
        # A crash between a temp file's creation and its rename leaves it: in .tmp/ (streamed
        # writes) or beside its key (batches). One younger than the cut may be a live write.
        count = size = 0
        for dirpath, _dirnames, filenames in os.walk(self.root):
            in_tmp = Path(dirpath) == self._tmp
            for name in filenames:
                if not (in_tmp or name.startswith(_TEMP)):
                    continue
                path = os.path.join(dirpath, name)
                try:
                    st = os.stat(path)
                    if st.st_mtime >= older_than:
                        continue
                    if not dry_run:
                        os.unlink(path)
                except FileNotFoundError:
                    continue  # its write finished (renamed) or failed (removed) meanwhile
                count += 1
                size += st.st_size
        return count, size

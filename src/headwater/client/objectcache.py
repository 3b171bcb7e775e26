"""The local object cache, and putting its blobs in place as files.

Blobs land here by hash, verified before they become visible, so a second checkout of a version
reads nothing from the network. Files come out as hardlinks where the filesystem allows, or as
private copies with the entry's mode:

- read-only views (the data cache) link to shared blobs, made mode 0444 when first linked;
- a fresh folder people edit (a clone) may *borrow* a blob that nothing else links to: the blob
  (written mode 0644, so this costs no chmod) becomes that folder's file, so the clone copies
  nothing. A blob already linked elsewhere is copied instead, so an edit in one folder never
  shows up in another, nor in a view.

A borrowed file may be edited in place, which edits the blob. So every blob carries a stamp (an
extended attribute: its size and mtime when it was written and verified), and a blob whose stat
no longer matches its stamp is not vouched for: ``has`` says no, and the next fetch replaces it
with a fresh, verified copy (the edited file keeps the old inode). On a filesystem without
extended attributes nothing is borrowed, and only unwritable blobs are linked.

A checkout writes thousands of files, so this module works with string paths and file
descriptors rather than ``Path`` objects, and stats each file once, from the open descriptor.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import os
import secrets
import stat
from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path

from headwater.domain.errors import InvalidInput
from headwater.domain.paths import check_path
from headwater.domain.trees import EXEC_MODE, FILE_MODE, Entry, Tree

STAMP = "user.headwater.stamp"
_CHUNK = 1 << 20
_WRITABLE = 0o222


def _corrupt(digest: str) -> InvalidInput:
    return InvalidInput(
        f"downloaded object {digest[:12]}… does not match its hash",
        where="download",
        hint="The transfer was corrupted; run the command again.",
    )


class ObjectCache:
    """Blobs by hash under one folder, each stamped when written; checkouts link or copy them.
    A blob's mode says how it is used: 0444 once a view links to it, writable while unlinked
    or lent to one folder people edit."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._base = str(root)
        self._tmp = root / ".tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._token = secrets.token_hex(4)  # with the pid and a count: unique temp names
        self._names = itertools.count()

    @cached_property
    def stamps(self) -> bool:
        """Whether blobs carry stamps here; probed on first use, so a command that never
        touches the cache (a sync with nothing to bring in) writes no file to it."""
        return _stamps_work(str(self._tmp))

    def path(self, digest: str) -> Path:
        return Path(self.blob(digest))

    def blob(self, digest: str) -> str:
        return os.path.join(self._base, digest[:2], digest[2:])

    def has(self, digest: str) -> bool:
        """Whether the blob is here and unchanged since it was verified."""
        return self.held(digest) is not None

    def held(self, digest: str) -> os.stat_result | None:
        """The blob's stat when it is here and unchanged since it was verified, else None; a
        checkout given it (``materialise``'s ``held``) need not stat the blob again."""
        path = self.blob(digest)
        try:
            st = os.stat(path)
        except OSError:
            return None
        return st if stat.S_ISREG(st.st_mode) and self._vouched(path, st) else None

    def _vouched(self, path: str | int, st: os.stat_result) -> bool:
        if not self.stamps:
            return True  # nothing was borrowed: blobs change only if someone forces it
        try:
            return os.getxattr(path, STAMP) == _stamp(st)
        except OSError:
            return False  # no stamp: written before stamps, or copied in by hand

    def add(self, digest: str, data: bytes, *, lend_to: str | None = None) -> os.stat_result | None:
        """Store verified bytes. ``lend_to`` (from ``lend_target``): a path in a fresh folder
        that borrows the blob if this call creates it, linked before the stamp is set, so no
        one else can have linked it first; returns the blob's stat when it was lent there."""
        if hashlib.sha256(data).hexdigest() != digest:
            raise _corrupt(digest)
        if self.stamps:
            added, lent = self._add_in_place(digest, data, lend_to)
            if added:
                return lent
        self._store(digest, lambda fd: _write_all(fd, data))
        return None

    def _add_in_place(
        self, digest: str, data: bytes, lend_to: str | None
    ) -> tuple[bool, os.stat_result | None]:
        """Write verified bytes straight under the blob's name, no temp file and rename: the
        stamp, set last, is what makes a blob count (``has`` ignores one without it). Not
        added when the name is taken (a stale or edited blob): ``_store`` replaces it
        atomically. Lent to ``lend_to`` when given, before the stamp."""
        folder = os.path.join(self._base, digest[:2])
        target = f"{folder}/{digest[2:]}"
        try:
            fd = _create(target, folder)
        except FileExistsError:  # here already, or another fetch of it won meanwhile
            return False, None
        lent = False
        try:
            _write_all(fd, data)
            if lend_to is not None:
                try:
                    os.link(target, lend_to)
                    lent = True
                except OSError:
                    pass  # another filesystem, or no hardlinks: the checkout copies it
            st = os.fstat(fd)
            os.setxattr(fd, STAMP, _stamp(st))
        except BaseException:
            # unstamped, so never vouched for: remove it all the same, unless another fetch
            # has put a whole blob in its place meanwhile
            with contextlib.suppress(OSError):
                if os.stat(target).st_ino == os.fstat(fd).st_ino:
                    os.unlink(target)
            if lent:
                with contextlib.suppress(OSError):
                    os.unlink(lend_to)  # type: ignore[arg-type]
            raise
        finally:
            os.close(fd)
        return True, st if lent else None

    def lend_target(self, entry: Entry, root: Path, checked: set[str] | None = None) -> str | None:
        """Where ``add(..., lend_to=)`` may lend ``entry``'s blob in the fresh folder ``root``
        (its folder checked and made), or None when it may not be lent: an executable (a copy:
        one inode has one mode), or no stamps here to notice an edit through the link."""
        if entry.mode != FILE_MODE or not self.stamps:
            return None
        target = os.path.join(root, check_path(entry.path))
        _check_folder(entry.path, os.path.dirname(target), root, checked)
        return target

    def add_stream(self, digest: str, chunks: Iterable[bytes]) -> int:
        """Store a blob as it arrives, verifying its hash before it becomes visible."""
        hasher = hashlib.sha256()
        size = 0

        def write(fd: int) -> None:
            # The pieces arrive as the connection delivers them (64 KiB): written ~1 MiB at a
            # time with one writev (no join), each a syscall and a GIL hand-off fewer.
            nonlocal size
            pending: list[bytes] = []
            held = 0
            for chunk in chunks:
                hasher.update(chunk)
                pending.append(chunk)
                held += len(chunk)
                if held >= _CHUNK:
                    _writev_all(fd, pending, held)
                    size += held
                    pending, held = [], 0
            if pending:
                _writev_all(fd, pending, held)
                size += held
            if hasher.hexdigest() != digest:
                raise _corrupt(digest)

        self._store(digest, write)
        return size

    def _store(self, digest: str, write: Callable[[int], object]) -> None:
        # The temp file lies beside its target: a rename within one folder costs a third of
        # one across folders, which the kernel serialises filesystem-wide.
        folder = os.path.join(self._base, digest[:2])
        tmp = f"{folder}/.tmp-{os.getpid()}.{self._token}.{next(self._names)}"
        fd = _create(tmp, folder)
        try:
            try:
                write(fd)
                if self.stamps:
                    os.setxattr(fd, STAMP, _stamp(os.fstat(fd)))
            finally:
                os.close(fd)
            os.replace(tmp, f"{folder}/{digest[2:]}")
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def materialise(
        self,
        entry: Entry,
        root: Path,
        *,
        link: bool,
        lend: bool = False,
        fresh: bool = False,
        checked: set[str] | None = None,
        held: os.stat_result | None = None,
    ) -> os.stat_result:
        """Put one file in place and return its stat: a hardlink to the cache (only for plain
        files) or a private copy with the entry's mode. ``link``: a read-only view, linked to
        any blob nobody may write; ``lend``: a folder people edit, which borrows a blob only
        when nothing else links to it (see the module docstring).

        In a folder people use it replaces the file atomically; in a ``fresh`` folder (a
        staging folder nobody sees yet) it writes directly. ``checked`` remembers the folders
        already verified to lie inside ``root``, so a checkout resolves each folder once.
        ``held``: the blob's stat from ``held`` a moment ago (it was vouched for then), so the
        blob is not looked at twice; a link made from it is still checked (see ``_place``).
        """
        target = os.path.join(root, check_path(entry.path))
        _check_folder(entry.path, os.path.dirname(target), root, checked)
        source = self.blob(entry.hash)
        lend = lend and not link
        share = self._sharing(source, lend=lend, held=held) if link or lend else None
        if entry.mode != FILE_MODE:
            share = None  # executables are copies: one inode has one mode
        if fresh:
            return _place(source, target, entry, share=share, lend=lend)
        folder, name = os.path.split(target)
        staged = os.path.join(folder, f".{name}.hw-{os.getpid()}")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staged)
        try:
            placed = _place(source, staged, entry, share=share, lend=lend)
            os.replace(staged, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(staged)
            raise
        return placed

    def _sharing(
        self, source: str, *, lend: bool, held: os.stat_result | None = None
    ) -> os.stat_result | None:
        """The blob's stat when it may be linked (as a view, or lent), else None: copy it.
        ``held``: its stat when ``held`` vouched for it just now."""
        if held is not None:
            st = held
        else:
            try:
                st = os.stat(source)
            except OSError:
                return None
        if st.st_nlink > 1 and (lend or st.st_mode & _WRITABLE):
            return None  # lent to a folder people edit, or a view would be lent: never shared
        if lend and not (self.stamps and (held is not None or self._vouched(source, st))):
            return None  # nothing would notice an edit through the link
        return st


def _stamps_work(folder: str) -> bool:
    """Whether this filesystem keeps extended attributes (user namespace) on our files."""
    probe = f"{folder}/.stamp-probe-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return False
    try:
        os.setxattr(fd, STAMP, b"probe")
        return True
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM, errno.EACCES):
            return False
        raise
    finally:
        os.close(fd)
        os.unlink(probe)


def _create(path: str, folder: str) -> int:
    """A new file, opened exclusively, mode 0644 (a plain file's: a blob is ready to be lent
    as it is); its folder is made when missing."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        return os.open(path, flags, 0o644)
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)
        return os.open(path, flags, 0o644)


def _stamp(st: os.stat_result) -> bytes:
    return f"{st.st_size}:{st.st_mtime_ns}".encode()


def _write_all(fd: int, data: bytes | memoryview) -> None:
    written = os.write(fd, data)
    if written < len(data):  # rare for a regular file: a signal, or a full disk
        view = memoryview(data)[written:]
        while view:
            view = view[os.write(fd, view) :]


def _writev_all(fd: int, pieces: list[bytes], total: int) -> None:
    written = os.writev(fd, pieces)
    if written < total:  # rare for a regular file: a signal, or a full disk
        _write_all(fd, memoryview(b"".join(pieces))[written:])


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


def _place(
    source: str, target: str, entry: Entry, *, share: os.stat_result | None, lend: bool
) -> os.stat_result:
    """Link ``source`` when ``share`` (its stat) says so, else copy it with the entry's mode."""
    if share is not None:
        try:
            mode = stat.S_IMODE(share.st_mode)
            if lend and mode != 0o644:
                os.chmod(source, 0o644)  # the folder's file now: a plain file's mode
            elif not lend and mode & _WRITABLE:
                os.chmod(source, 0o444)  # linked nowhere yet (or lent once): a view from now
            os.link(source, target)
            placed = os.stat(target)
            if not lend or placed.st_nlink == 2:
                return placed
            os.unlink(target)  # another checkout linked it at the same moment: copy instead
        except OSError:
            pass  # another filesystem, or one without hardlinks: copy instead
    return _copy_file(source, target, 0o755 if entry.mode == EXEC_MODE else 0o644, entry.size)


def _copy_file(source: str, target: str, mode: int, size: int) -> os.stat_result:
    """A private copy of ``source`` at ``target`` with exactly ``mode``, and its stat. Plain
    descriptors (a file object costs an fstat, an ioctl and a seek more per file), and a
    chmod only when the umask took a bit away: a checkout copies thousands of files."""
    src = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
        try:
            if size:
                _copy(src, fd, size)
            st = os.fstat(fd)
            if stat.S_IMODE(st.st_mode) != mode:  # the umask, or a file that was there
                os.fchmod(fd, mode)
                st = os.fstat(fd)
            return st
        finally:
            os.close(fd)
    finally:
        os.close(src)


def _copy(src: int, dst: int, size: int) -> None:
    """In the kernel where it can (``copy_file_range``: a reflink where the filesystem has
    them, else a copy that never enters Python; then ``sendfile``), else through a buffer.
    ``size`` is the blob's, verified when it was stored."""
    offset = 0
    with contextlib.suppress(OSError):
        while offset < size:
            sent = os.copy_file_range(src, dst, size - offset)
            if sent == 0:
                return  # shorter than its size: the copy's stat says so
            offset += sent
        return
    with contextlib.suppress(OSError):
        while offset < size:
            sent = os.sendfile(dst, src, offset, size - offset)
            if sent == 0:
                return
            offset += sent
        return
    os.lseek(src, offset, os.SEEK_SET)
    os.lseek(dst, offset, os.SEEK_SET)
    while block := os.read(src, _CHUNK):
        _write_all(dst, block)


def checkout(
    tree: Tree | Iterable[Entry],
    root: Path,
    cache: ObjectCache,
    *,
    link: bool,
    lend: bool = False,
    fresh: bool = False,
) -> dict[str, os.stat_result]:
    """Write every entry of ``tree`` under ``root`` from the cache (others are left alone);
    ``link``/``lend`` as for ``materialise``; ``fresh``: ``root`` is a new folder nobody uses
    yet, so files need no atomic replace. Returns each written file's stat, for a stat cache."""
    checked: set[str] = set()
    return {
        entry.path: cache.materialise(
            entry, root, link=link, lend=lend, fresh=fresh, checked=checked
        )
        for entry in (tree.entries if isinstance(tree, Tree) else tree)
    }

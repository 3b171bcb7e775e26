"""The local worker's channel, both ends: a socket in a folder only this user can enter, and
a check of who is at the other end.

Launches carry task tokens and specs with secrets, so the channel must be private: the socket
lives in a 0700 folder of the server home (never in a shared temp folder, where another local
user could take the name first), and each end asks the kernel (``SO_PEERCRED``) for the uid
of the other and talks only to its own user. Shared by ``executors.local`` (the server's end)
and ``runtime.worker`` (the worker's), which may not import each other.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import struct
from collections.abc import Iterator
from pathlib import Path

from headwater.domain.errors import HeadwaterError

# sun_path holds 108 bytes with its NUL; longer paths are reached through /proc (see `address`)
MAX_PATH = 107
_UCRED = struct.Struct("3i")  # pid, uid, gid


class ChannelRefused(HeadwaterError):
    """The worker channel is not private (a folder or peer of another user)."""

    code = "worker_channel_refused"
    status_code = 503


def peer_uid(conn: socket.socket) -> int:
    """The uid of the process at the other end of a connected Unix socket, from the kernel."""
    raw = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    _pid, uid, _gid = _UCRED.unpack(raw)
    return int(uid)


def check_peer(conn: socket.socket, where: str) -> None:
    """Refuse a peer that is not this process's own user."""
    uid = peer_uid(conn)
    if uid != os.geteuid():
        raise ChannelRefused(
            f"the other end of the worker socket is uid {uid}, not this user ({os.geteuid()})",
            where=where,
            hint="Another user holds the socket: remove it, and keep the server home private.",
        )


def private_folder(path: Path) -> Path:
    """``path`` as a folder of this user's, mode 0700, made if missing; refused when it is
    someone else's, open to others (never changed: it may be a shared folder such as
    ``/tmp``), or not a plain folder (a symlink, say)."""
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700, parents=True)
    found = os.lstat(path)
    mine = stat.S_ISDIR(found.st_mode) and found.st_uid == os.geteuid()
    if not mine or stat.S_IMODE(found.st_mode) & 0o077:
        raise ChannelRefused(
            "the worker's socket folder is not a private folder of this user's (mode 0700)",
            where=str(path),
            hint="Put the socket in a folder of its own; the server makes HOME/worker so.",
        )
    return path


@contextlib.contextmanager
def address(path: Path) -> Iterator[str]:
    """A name to bind or connect ``path`` by. Too long a path (a deep home) is reached as
    ``/proc/self/fd/N/NAME`` through a descriptor of its folder, held while the block runs:
    thread-safe, unlike a chdir, and the socket still lives in the private folder."""
    if len(os.fsencode(str(path))) <= MAX_PATH:
        yield str(path)
        return
    fd = os.open(path.parent, os.O_PATH | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)


def connect(path: Path, timeout: float) -> socket.socket:
    """A connection to the worker at ``path``, its peer checked to be this user."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.settimeout(timeout)
        with address(path) as name:
            conn.connect(name)
        check_peer(conn, str(path))
    except BaseException:
        conn.close()
        raise
    return conn

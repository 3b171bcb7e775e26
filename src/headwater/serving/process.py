"""Run a loaded function as a replica: uvicorn on a Unix socket, ready file, graceful SIGTERM.

We bind the socket ourselves (umask 0177, so it is 0600 from its first instant; uvicorn's own
``uds=`` would chmod it to 0666) and hand it to uvicorn. On SIGTERM uvicorn stops accepting,
lets in-flight requests finish within ``grace`` seconds, and we exit 0; a sync call still
running past that is abandoned (``os._exit``), because the worker kills the group soon after.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from contextlib import suppress
from pathlib import Path

import uvicorn

from headwater.serving.asgi import ReplicaApp

DEFAULT_GRACE = 8  # seconds; the local worker sends SIGKILL 10 s after SIGTERM


def bind_socket(path: Path) -> socket.socket:
    """A listening Unix socket at ``path``, mode 0600 (a stale socket file is replaced)."""
    with suppress(FileNotFoundError):
        if path.is_socket():
            path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def write_ready_file(ready_file: Path, address: str) -> None:
    """Write the address atomically: a reader sees nothing or all of it."""
    partial = ready_file.with_name(ready_file.name + ".partial")
    partial.write_text(address + "\n")
    partial.replace(ready_file)


def serve(
    replica: ReplicaApp,
    *,
    socket_path: Path,
    ready_file: Path | None = None,
    grace: int = DEFAULT_GRACE,
) -> int:
    """Serve until SIGTERM or SIGINT; the exit status."""
    sock = bind_socket(socket_path)
    config = uvicorn.Config(
        replica,
        loop="uvloop",
        http="httptools",
        lifespan="off",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=grace,
        server_header=False,
        date_header=False,
    )
    server = uvicorn.Server(config)
    address = f"unix:{socket_path}"
    # uvicorn re-raises the signal it handled once it is done; a handler of ours takes it,
    # so a graceful stop exits 0 rather than dying of SIGTERM.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    try:
        asyncio.run(_serve(server, sock, address, ready_file))
    finally:
        replica.close()
        with suppress(FileNotFoundError):
            socket_path.unlink()
    sys.stdout.flush()
    sys.stderr.flush()
    if replica.stats.in_flight:  # a call outlived the grace period: do not wait on its thread
        os._exit(0)
    return 0


async def _serve(
    server: uvicorn.Server, sock: socket.socket, address: str, ready_file: Path | None
) -> None:
    serving = asyncio.ensure_future(server.serve(sockets=[sock]))
    while not server.started and not serving.done():
        await asyncio.sleep(0.005)
    if server.started:
        if ready_file is not None:
            write_ready_file(ready_file, address)
        print(f"headwater serving: ready on {address}", flush=True)
    await serving

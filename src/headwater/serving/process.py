"""Run a loaded function as a replica: uvicorn on a Unix socket, ready file, graceful SIGTERM.

We bind the socket ourselves (umask 0177, so it is 0600 from its first instant; uvicorn's own
``uds=`` would chmod it to 0666) and hand it to uvicorn. On SIGTERM uvicorn stops accepting,
lets in-flight requests finish within ``grace`` seconds, and we exit 0; a sync call still
running past that is abandoned (its thread is a daemon), since the worker kills the group
soon after anyway.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import socket
from contextlib import suppress
from pathlib import Path

import uvicorn
import uvloop

from headwater.domain.errors import InvalidInput
from headwater.serving.asgi import ReplicaApp

KEEP_ALIVE = 75  # seconds an idle keep-alive connection is kept
DEFAULT_GRACE = 8  # seconds; the local worker sends SIGKILL 10 s after SIGTERM


def bind_socket(path: Path) -> socket.socket:
    """A listening Unix socket at ``path``, mode 0600 (a stale socket file is replaced)."""
    size = len(os.fsencode(path))
    if size > _SOCKET_PATH_MAX:
        raise InvalidInput(
            f"the socket path is {size} bytes, over the {_SOCKET_PATH_MAX} a Unix socket takes",
            where="--socket",
            hint="put the socket in a folder with a shorter path",
        )
    with suppress(FileNotFoundError):
        if path.is_socket():
            path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    except OSError as error:
        sock.close()
        raise InvalidInput(
            f"cannot listen on {path}: {error.strerror or error}",
            where="--socket",
            hint="the socket's folder must exist and be writable, and nothing else may be there",
        ) from None
    finally:
        os.umask(old)
    sock.listen(2048)
    return sock


_SOCKET_PATH_MAX = 107  # sun_path holds 108 bytes with the final NUL


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
    # The loaded function and its model live as long as the replica: out of the collector's
    # sight, so a full collection under load does not walk them (see ``hw server``)
    gc.freeze()
    config = uvicorn.Config(
        replica,
        loop="uvloop",
        http="httptools",
        lifespan="off",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=grace,
        # Longer than any client pool keeps an idle connection (httpx: 5 s), so the gateway,
        # not the replica, closes idle ones: no request races a close on a reused connection.
        timeout_keep_alive=KEEP_ALIVE,
        server_header=False,
        date_header=False,
    )
    server = _Server(config, socket_path)
    address = f"unix:{socket_path}"
    # uvicorn re-raises the signal it handled once it is done; a handler of ours takes it,
    # so a graceful stop exits 0 rather than dying of SIGTERM. One that comes before uvicorn
    # has its own handlers in place is kept, and stops the server as soon as it runs.
    early: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda number, _: early.append(number))
    try:
        # uvicorn sets up the loop it is configured with only in its own ``run``: here, on
        # ``asyncio.run``, the replica got the stdlib loop and spent 0.1-0.2 ms more CPU per
        # request than on uvloop (benchmarks/README.md, serving)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(_serve(server, sock, address, ready_file, early))
    finally:
        replica.close()
    return 0


class _Server(uvicorn.Server):
    """uvicorn's server, which also removes the socket's name the moment it stops accepting,
    so a new client fails at once (and the gateway tries another replica) during the grace."""

    def __init__(self, config: uvicorn.Config, socket_path: Path) -> None:
        super().__init__(config)
        self.socket_path = socket_path

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        with suppress(FileNotFoundError):
            self.socket_path.unlink()
        await super().shutdown(sockets=sockets)


async def _serve(
    server: uvicorn.Server,
    sock: socket.socket,
    address: str,
    ready_file: Path | None,
    early: list[int],
) -> None:
    serving = asyncio.ensure_future(server.serve(sockets=[sock]))
    while not server.started and not serving.done():
        await asyncio.sleep(0.005)
    if early:
        server.should_exit = True
    elif server.started:
        if ready_file is not None:
            write_ready_file(ready_file, address)
        print(f"headwater serving: ready on {address}", flush=True)
    await serving

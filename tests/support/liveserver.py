"""A real ``hw server`` in its own process, on a fresh home: what a user runs."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.waiting import wait_until

PY = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningServer:
    home: Path
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def admin_token(self) -> str:
        return (self.home / "admin.token").read_text().strip()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def server_env(home: Path, port: int, **extra: str) -> dict[str, str]:
    """The caller's environment without HEADWATER_* variables, for a server on ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env.update(HEADWATER_HOME=str(home), HEADWATER_PORT=str(port), HEADWATER_WORKER_IDLE_EXIT="20")
    env.update(extra)
    return env


def _healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"hw server exited with {process.returncode}:\n{log.read_text()}")
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@contextlib.contextmanager
def running_server(home: Path, log: Path, *args: str, **extra_env: str) -> Iterator[RunningServer]:
    """``hw server ARGS`` on ``home`` until the block ends; its local worker ends with it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [PY, "-m", "headwater.cli.main", "server", "--port", str(port), *args],
            env=server_env(home, port, **extra_env),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = RunningServer(home=home, url=url, process=process, log=log)
    try:
        wait_until(lambda: _healthy(url, process, log), message=server.log_text)
        yield server
    finally:
        stop_server(server)


def stop_server(server: RunningServer) -> None:
    """End the server, then the worker it left (workers outlive servers by design)."""
    if server.process.poll() is None:
        server.process.terminate()
        server.process.wait(timeout=30)
    stop_workers(server.home)


def stop_workers(home: Path) -> None:
    """End the local workers of a server home, and so the tasks they run: a worker outlives
    its server by design, and one running an endpoint replica (which never ends by itself)
    would never leave on its own."""
    for pidfile in home.rglob("*.sock.pid"):
        with contextlib.suppress(ProcessLookupError, ValueError, OSError):
            os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)

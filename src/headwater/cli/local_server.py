"""A control plane on this machine: the addresses ``hw server`` prints, a check that its port
is free, and the child server ``hw demo`` starts, waits for and stops.

Only subprocess plumbing lives here; the server itself is imported by ``hw server`` alone,
so no other command pays for loading it.
"""

from __future__ import annotations

import ipaddress
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from headwater.client import Client
from headwater.domain.errors import Conflict, HeadwaterError, InvalidInput, ServerUnreachable

READY_TIMEOUT_S = 60.0
LOG_FILE = "server.log"
_ANY = {"0.0.0.0", "::", ""}


def base_url(host: str, port: int) -> str:
    """The address to open for a listening host: a wildcard is reached on loopback."""
    if host in _ANY:
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def check_port_free(host: str, port: int) -> None:
    """Fail before start-up, with a way out, rather than in the middle of uvicorn's logs."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise Conflict(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                where="--port",
                hint="Another server may be running there: stop it, or pass another --port.",
            ) from exc


def local_address(url: str) -> tuple[str, int]:
    """Host and port of a loopback ``http://`` URL, where a child server may be started."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme != "http" or not loopback:
        raise ServerUnreachable(
            f"no server answers at {url}, and it is not a local http:// address to start one on",
            where="url",
            hint="Start that server, or run `hw login --url http://127.0.0.1:8765 ...` first.",
        )
    return host, parts.port or 80


@dataclass
class ChildServer:
    """``hw server`` run as a child process, its output kept in ``HOME/server.log``."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    @classmethod
    def start(cls, host: str, port: int, home: Path, *options: str) -> ChildServer:
        check_port_free(host, port)
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        log = home / LOG_FILE
        command = [sys.executable, "-m", "headwater.cli.main", "server"]
        command += ["--host", host, "--port", str(port), "--home", str(home), *options]
        with log.open("ab") as sink:
            log.chmod(0o600)  # the server's output is its home's, like the rest
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT
            )
        return cls(process=process, url=base_url(host, port), log=log)

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Poll ``/healthz`` until it answers; fail early if the child dies."""
        deadline = time.monotonic() + timeout
        with Client(url=self.url, timeout=2.0) as probe:
            while True:
                if self.process.poll() is not None:
                    raise self._died()
                try:
                    probe.health()
                    return
                except ServerUnreachable:
                    if time.monotonic() > deadline:
                        self.stop()
                        raise HeadwaterError(
                            f"the server did not answer within {timeout:g} s",
                            where=str(self.log),
                            hint="Its log says what it was doing.",
                        ) from None
                    time.sleep(0.1)

    def _died(self) -> HeadwaterError:
        tail = self.log.read_text(errors="replace").strip().splitlines()[-3:]
        return HeadwaterError(
            f"the server stopped while starting (exit status {self.process.returncode})",
            where=str(self.log),
            hint="The end of its log: " + " | ".join(tail) if tail else "Its log is empty.",
        )

    def wait(self) -> int:
        return self.process.wait()

    def stop(self, grace_s: float = 10.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(grace_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def read_admin_token(home: Path) -> str:
    """The token ``hw server`` writes to ``HOME/admin.token`` on its first start."""
    path = home / "admin.token"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        raise InvalidInput(
            "the server home holds no admin token",
            where=str(path),
            hint="It is written on the first start only: log in with `hw login`, or start "
            "afresh with an empty home.",
        ) from None

"""A real ``hw server`` that a test can take away and bring back on the same home and port,
while its local worker (and the tasks it runs) carries on: a server outage as users meet it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.liveserver import PY, RunningServer, free_port, server_env, stop_server
from tests.support.waiting import wait_until


@dataclass
class RestartableServer:
    home: Path
    log: Path
    port: int
    args: tuple[str, ...]
    current: RunningServer | None = None
    env: dict[str, str] | None = None  # more HEADWATER_* settings
    start_timeout: float = 30.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin_token(self) -> str:
        return (self.home / "admin.token").read_text().strip()

    def start(self) -> None:
        """Start ``hw server`` on the same home and port; back once it answers."""
        with self.log.open("ab") as sink:
            process = subprocess.Popen(
                [PY, "-m", "headwater.cli.main", "server", "--port", str(self.port), *self.args],
                env=server_env(self.home, self.port, **(self.env or {})),
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.current = RunningServer(home=self.home, url=self.url, process=process, log=self.log)
        wait_until(
            self._healthy,
            timeout=self.start_timeout,
            message=lambda: self.log.read_text(errors="replace"),
        )

    def kill(self) -> None:
        """Take the server away at once (SIGKILL: answers in flight are lost), leaving its
        worker and the tasks it runs alone."""
        assert self.current is not None
        os.kill(self.current.process.pid, signal.SIGKILL)
        self.current.process.wait(timeout=30)
        wait_until(lambda: not self._answers(), message="the server still answers")

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def _healthy(self) -> bool:
        assert self.current is not None
        if self.current.process.poll() is not None:
            raise AssertionError(f"hw server exited:\n{self.log.read_text(errors='replace')}")
        return self._answers()


@contextlib.contextmanager
def restartable_server(
    home: Path, log: Path, *args: str, start_timeout: float = 30.0, **env: str
) -> Iterator[RestartableServer]:
    """``hw server ARGS`` on ``home`` (``env``: more settings); the server and its worker end
    with the block."""
    server = RestartableServer(
        home=home, log=log, port=free_port(), args=args, env=env, start_timeout=start_timeout
    )
    server.start()
    try:
        yield server
    finally:
        if server.current is not None:
            stop_server(server.current)

"""The local backend: tasks run as process groups on this machine, under one long-lived worker.

The worker (``python -m headwater.runtime.worker``) is started once and runs the task runtime
in threads, spawning only each task's command: starting an interpreter per task would cost
more than the whole dispatch. It runs in a session of its own, so a server that dies does not
take running tasks with it; the next server finds the worker on its socket and adopts them.

The socket is ``HOME/worker/worker.sock``, in a folder only this user may enter, and each end
checks that the other is this user (``headwater.unixsocket``). A worker that died (``kill -9``)
leaves its socket behind with nobody listening: a refused connection means its tasks are gone.
With ``sandbox`` options, the worker runs each task's commands in bubblewrap
(``runtime/sandbox.py``); ``check_sandbox`` says whether it can.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from headwater.domain.compute import Resources
from headwater.domain.errors import HeadwaterError
from headwater.executors.base import Launch, Liveness, Runner
from headwater.executors.machine import machine_resources
from headwater.unixsocket import ChannelRefused, connect, private_folder

WORK = "work"  # the tasks' folders, one per experiment, under the server's home


def task_folder(home: Path, experiment_id: str) -> Path:
    """Where the worker of ``home`` runs ``experiment_id``: the server knows it without asking
    the task (an endpoint replica's socket must be there)."""
    return home / WORK / experiment_id


START_TIMEOUT = 20.0


class WorkerUnreachable(HeadwaterError):
    code = "worker_unreachable"
    status_code = 503


class SandboxMissing(HeadwaterError):
    code = "sandbox_missing"
    status_code = 503


def socket_path(home: Path) -> Path:
    """The worker's socket: in the home's private ``worker/`` folder (see unixsocket)."""
    return home.resolve() / "worker" / "worker.sock"


def check_sandbox(options: dict[str, Any]) -> None:
    """Refuse to take work with a sandbox that cannot start: bwrap (and, as root, setpriv,
    which drops the task's uid) must be there."""
    needed = [("bwrap", str(options.get("bwrap", "/usr/bin/bwrap")))]
    if os.geteuid() == 0:
        needed.append(("setpriv", str(options.get("setpriv", "/usr/bin/setpriv"))))
    for name, path in needed:
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            found = shutil.which(name)
            raise SandboxMissing(
                f"tasks run sandboxed with {name}, and there is none at {path}",
                where="HEADWATER_SANDBOX_" + name.upper(),
                hint=(
                    f"Install it (scripts/system-deps, or apt-get install "
                    f"{'bubblewrap' if name == 'bwrap' else 'util-linux'})"
                    + (f", or point HEADWATER_SANDBOX_{name.upper()} at {found}" if found else "")
                    + "; or start the server with --no-sandbox (HEADWATER_SANDBOX=false): "
                    "then tasks run with the server's own rights."
                ),
            )


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with open(path, "ab") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


class LocalExecutor:
    name = "local"

    def __init__(
        self,
        home: Path,
        *,
        idle_exit: float = 300.0,
        python: str | None = None,
        sandbox: dict[str, Any] | None = None,
    ):
        """``sandbox``: the sandbox settings for the worker (None: tasks run unsandboxed).
        Where bwrap is missing, ``hw server`` refuses to start (``check_sandbox``); a server
        built otherwise fails each task at its start, never runs it unsandboxed."""
        self.home = home
        self.socket = socket_path(home)
        self.idle_exit = idle_exit
        self.python = python or sys.executable
        self.sandbox = sandbox
        self._total = machine_resources()
        self._starting = threading.Lock()

    def capacity(self) -> Resources:
        return self._total

    # -- the worker ------------------------------------------------------------------------

    def _ask(self, request: dict[str, Any], *, timeout: float = 10.0) -> dict[str, Any]:
        # the peer is checked before a byte is sent: a launch carries the task's secrets
        with connect(self.socket, timeout) as conn:
            conn.sendall(json.dumps(request).encode() + b"\n")
            with conn.makefile("rb") as reader:
                line = reader.readline()
        if not line:
            raise ConnectionError("the worker closed the connection without an answer")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def _request(self, request: dict[str, Any]) -> dict[str, Any]:
        """Ask the worker, starting it first when none listens. One start at a time, across
        threads and processes (two servers on one home must not start two workers)."""
        try:
            return self._ask(request)
        except (FileNotFoundError, ConnectionRefusedError):
            private_folder(self.socket.parent)
            with self._starting, _file_lock(Path(str(self.socket) + ".lock")):
                if not self.worker_alive():
                    self._start_worker()
            return self._ask(request)

    def worker_alive(self) -> bool:
        try:
            return bool(self._ask({"op": "ping"}, timeout=5.0).get("ok"))
        except (OSError, ValueError, ChannelRefused):
            return False

    def _start_worker(self) -> None:
        logs = self.home / "logs"
        logs.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()  # a stale socket of a worker that is gone
        argv = [self.python, "-m", "headwater.runtime.worker", "--socket", str(self.socket)]
        argv += ["--workroot", str(self.home / WORK), "--cache", str(self.home / "cache")]
        argv += ["--idle-exit", str(self.idle_exit), "--home", str(self.home)]
        if self.sandbox is not None:
            argv += ["--sandbox", json.dumps(self.sandbox)]
        with open(logs / "worker.log", "ab") as log:
            os.chmod(logs / "worker.log", 0o600)
            subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.worker_alive():
                return
            time.sleep(0.05)
        raise WorkerUnreachable(
            "the local worker did not start",
            where=str(logs / "worker.log"),
            hint="Read the worker's log for the cause.",
        )

    # -- the protocol ------------------------------------------------------------------------

    def launch(self, launch: Launch) -> Runner:
        request: dict[str, Any] = {
            "op": "launch",
            "experiment_id": launch.experiment_id,
            "project_id": launch.project_id,
            "url": launch.server_url,
            "token": launch.token,
        }
        if launch.spec is not None:  # private to this socket: the runtime need not ask
            request["spec"] = launch.spec
        answer = self._request(request)
        if not answer.get("ok"):
            raise WorkerUnreachable(str(answer.get("error", "the worker refused the task")))
        return {"executor": self.name}  # the worker is found by its socket, not a pid

    def running(self) -> dict[str, Any] | None:
        """The worker's tasks; {} when no worker runs (no socket, or nobody listens on it:
        a worker killed with SIGKILL leaves its socket behind), None when it cannot tell."""
        try:
            answer = self._ask({"op": "list"})
        except (FileNotFoundError, ConnectionRefusedError):
            return {}  # no worker: its tasks ended with it (bwrap's --die-with-parent)
        except (OSError, ValueError, ChannelRefused):
            return None  # busy, or not ours: ask again later
        tasks: dict[str, Any] = answer.get("tasks", {})
        return tasks

    def poll(self, experiment_id: str, runner: Runner) -> Liveness:
        tasks = self.running()
        if tasks is None:
            return Liveness.UNKNOWN
        return Liveness.ALIVE if experiment_id in tasks else Liveness.GONE

    def cancel(self, experiment_id: str, runner: Runner) -> None:
        with contextlib.suppress(OSError, ValueError, ChannelRefused):
            self._ask({"op": "cancel", "experiment_id": experiment_id})

    def close(self) -> None:
        """Running tasks finish; the worker leaves when it has none."""
        with contextlib.suppress(OSError, ValueError, ChannelRefused):
            self._ask({"op": "exit_when_idle"}, timeout=2.0)

"""The services under test, each in its own process on 127.0.0.1, stopped on the way out."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from harness.machine import HOST, children_of, free_port, wait_until

APP_FACTORY = "headwater.server.app:create_app"


# -- PostgreSQL: a throwaway cluster from the machine's binaries ---------------------------------


def pg_bindir() -> Path:
    found = glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")
    if not found:
        raise RuntimeError(
            "no PostgreSQL binaries under /usr/lib/postgresql/*/bin: "
            "install them (apt-get install postgresql) or run with --db sqlite"
        )
    return Path(max(found, key=lambda p: int(p.split("/")[4]))).parent


@dataclass
class Postgres:
    url: str
    version: str
    data: Path

    def pids(self) -> list[int]:
        """The postmaster and its backends, for CPU accounting."""
        try:
            postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return []
        return children_of(postmaster)


@contextlib.contextmanager
def postgres_cluster() -> Iterator[Postgres]:
    """initdb + pg_ctl in a temp dir on a free loopback port; as ``postgres`` when we are root.

    Default settings (fsync on): this measures reads, and seeding is not timed.
    """
    bindir = pg_bindir()
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    base = Path(tempfile.mkdtemp(prefix="hw-bench-pg-"))
    if as_root:
        shutil.chown(base, "postgres", "postgres")
    base.chmod(0o755)
    data, log, port = base / "data", base / "server.log", free_port()

    def run(*args: str) -> str:
        done = subprocess.run(
            [*prefix, *args], check=True, capture_output=True, text=True, cwd=base
        )
        return done.stdout

    started = False
    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync")
        opts = f"-p {port} -k {base} -c listen_addresses={HOST} -c max_connections=200"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", opts, "-w", "start")
        started = True
        run(str(bindir / "createdb"), "-h", HOST, "-p", str(port), "-U", "postgres", "headwater")
        version = run(str(bindir / "postgres"), "--version").strip()
        yield Postgres(f"postgresql+psycopg://postgres@{HOST}:{port}/headwater", version, data)
    finally:
        if started:
            with contextlib.suppress(subprocess.CalledProcessError):
                run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


# -- the Headwater server under uvicorn ----------------------------------------------------------


@dataclass
class Server:
    """``uvicorn --factory headwater.server.app:create_app`` on a free loopback port.

    Settings travel the way users give them: ``HEADWATER_HOME`` and ``HEADWATER_DATABASE_URL``.
    ``PYTHONPATH`` is inherited, so a prototype tree can be measured with the same script.
    """

    home: Path
    database_url: str | None
    workers: int = 1
    extra_args: tuple[str, ...] = ()
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        self.port = free_port()
        env = dict(os.environ, HEADWATER_HOME=str(self.home))
        env.pop("HEADWATER_DATABASE_URL", None)
        if self.database_url:
            env["HEADWATER_DATABASE_URL"] = self.database_url
        # No access log unless asked for (``--access-log`` in extra_args), as in most benchmarks;
        # ``hw server`` keeps uvicorn's default (on), and the README gives its cost.
        logging = (
            ["--log-level", "info"]  # uvicorn writes access lines at info
            if "--access-log" in self.extra_args
            else ["--no-access-log", "--log-level", "warning"]
        )
        cmd = [sys.executable, "-m", "uvicorn", "--factory", APP_FACTORY, "--host", HOST,
               "--port", str(self.port), "--workers", str(self.workers), *logging,
               *self.extra_args]  # fmt: skip
        log_path = self.home / f"uvicorn-{self.port}.log"
        self.log = log_path.open("wb")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(self._healthy, 90, f"the server on port {self.port} (log: {log_path})")
        if self.workers > 1:  # each worker has started before we measure
            wait_until(lambda: len(self.worker_pids()) >= self.workers, 60, "the workers")
            time.sleep(1.0)

    def _healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"the server exited with {self.proc.returncode}; see its log")
        try:
            return httpx.get(self.base_url + "/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def worker_pids(self) -> list[int]:
        """The processes that answer requests: the server itself, or its worker children."""
        assert self.proc is not None
        if self.workers == 1:
            return [self.proc.pid]
        kids: list[int] = []
        for task in glob.glob(f"/proc/{self.proc.pid}/task/*/children"):
            with contextlib.suppress(OSError), open(task) as fh:
                kids += [int(p) for p in fh.read().split()]
        # the supervisor's children are the workers (spawn_main) and a resource tracker
        return [p for p in kids if "spawn_main" in _cmdline(p)]

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        if self.log is not None:
            self.log.close()
            self.log = None


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    server.start()
    try:
        yield server
    finally:
        server.stop()

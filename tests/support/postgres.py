"""A real PostgreSQL for the tests, started from the machine's binaries.

pytest-postgresql's ``postgresql_proc`` runs ``pg_ctl`` as the current user, and PostgreSQL
refuses to run as root, which is how CI runs. So this module starts the cluster itself: when the
tests run as root it runs ``initdb`` and ``pg_ctl`` as the unprivileged ``postgres`` user (Debian's
package creates it) in a temporary folder that user owns; otherwise as the current user. Test
databases are then made and dropped with pytest-postgresql's ``DatabaseJanitor``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_postgresql.janitor import DatabaseJanitor

SUPERUSER = "postgres"
# The databases every integration test runs on: SQLite, and PostgreSQL (marked, so that
# `-m "not postgres"` leaves it out).
DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
RUN_AS_WHEN_ROOT = "postgres"


def find_bindir() -> Path | None:
    """The folder holding ``pg_ctl`` and ``initdb``: PATH first, then Debian's layout."""
    candidates: list[Path] = []
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(os.path.realpath(on_path)).parent)
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted((Path(p) for p in versions), key=_version_key, reverse=True)
    for folder in candidates:
        if (folder / "pg_ctl").is_file() and (folder / "initdb").is_file():
            return folder
    return None


def _version_key(path: Path) -> float:
    try:
        return float(path.parent.name)
    except ValueError:
        return 0.0


def why_unavailable() -> str | None:
    """None when a cluster can be started here, else the reason (for a skip message)."""
    if find_bindir() is None:
        return (
            "PostgreSQL server binaries not found (no pg_ctl on PATH or under "
            "/usr/lib/postgresql/*/bin); install Debian's `postgresql` package (.ci/run does)"
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(RUN_AS_WHEN_ROOT)
        except KeyError:
            return (
                f"tests run as root and there is no {RUN_AS_WHEN_ROOT!r} user to run "
                "PostgreSQL as (PostgreSQL refuses root); install Debian's `postgresql` package"
            )
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PostgresCluster:
    """A running cluster on 127.0.0.1:port with a trusted superuser ``postgres``."""

    bindir: Path
    root: Path
    port: int
    host: str = "127.0.0.1"
    user: str = SUPERUSER

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, object] = {}
        if os.geteuid() == 0:
            account = pwd.getpwnam(RUN_AS_WHEN_ROOT)
            kwargs = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        env.pop("PGDATA", None)
        return subprocess.run(  # type: ignore[call-overload, no-any-return]
            args, check=True, capture_output=True, text=True, env=env, cwd=self.root, **kwargs
        )

    @classmethod
    def start(cls, bindir: Path) -> PostgresCluster:
        root = Path(tempfile.mkdtemp(prefix="headwater-pg-"))
        if os.geteuid() == 0:
            account = pwd.getpwnam(RUN_AS_WHEN_ROOT)
            os.chown(root, account.pw_uid, account.pw_gid)
        cluster = cls(bindir=bindir, root=root, port=_free_port())
        cluster._run(
            str(bindir / "initdb"),
            "-D", str(cluster.datadir),
            "-U", SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )  # fmt: skip
        options = (
            f"-p {cluster.port} -c listen_addresses={cluster.host} "
            f"-c unix_socket_directories={root} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        try:
            cluster._run(
                str(bindir / "pg_ctl"),
                "start", "-w", "-t", "60",
                "-D", str(cluster.datadir),
                "-l", str(root / "server.log"),
                "-o", options,
            )  # fmt: skip
        except subprocess.CalledProcessError as exc:
            log = (root / "server.log").read_text(errors="replace") if root.exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {exc.stderr}\n{log}") from exc
        return cluster

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "stop", "-m", "fast", "-D", str(self.datadir))
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"

    @contextmanager
    def fresh_database(self) -> Iterator[str]:
        """A new, empty database for one test, dropped afterwards. Yields its SQLAlchemy URL."""
        name = "hw_" + uuid.uuid4().hex[:16]
        janitor = DatabaseJanitor(user=self.user, host=self.host, port=self.port, dbname=name)
        janitor.init()
        try:
            yield self.url(name)
        finally:
            janitor.drop()

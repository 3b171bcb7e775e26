"""Engine and sessions. SQLite writes queue for one writer: no client sees "database is locked"."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` for the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def sqlite_url(home: Path) -> str:
    return f"sqlite:///{home / 'headwater.db'}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


class Database:
    """Owns the engine. ``read()`` and ``write()`` give short transactions."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            kwargs["pool_size"] = 16
            kwargs["max_overflow"] = 16
        else:
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 20
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Lookups need no transaction: on PostgreSQL that saves the BEGIN and ROLLBACK round
        # trips around each one. (pysqlite opens no transaction for a SELECT anyway.)
        self._reader = (
            self.engine
            if self.is_sqlite
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        # SQLite allows one writer at a time; queueing writers here, in process, means they
        # wait their turn instead of failing with "database is locked".
        self._write_lock: threading.Lock | None = threading.Lock() if self.is_sqlite else None

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._sessions() as session:
            yield session

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A bare connection for hot read-only lookups: no ORM Session, no identity map."""
        with self._reader.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self._write_lock or nullcontext(), self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()

"""One engine leads: servers sharing a PostgreSQL take an advisory lock, SQLite homes a file lock.

The others serve the API only, and try again now and then, so one takes over when the leader
goes away (its lock goes with its connection or its process).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, text

from headwater.db.database import Database

LOCK_KEY = 0x4857_454E  # "HWEN"


class Leadership:
    def __init__(self, db: Database, lock_file: Path) -> None:
        self.db = db
        self.lock_file = lock_file
        self._file: IO[bytes] | None = None
        self._conn: Connection | None = None

    @property
    def held(self) -> bool:
        return self._file is not None or self._conn is not None

    def try_acquire(self) -> bool:
        if self.held:
            return True
        if self.db.is_sqlite:
            self.lock_file.parent.mkdir(parents=True, exist_ok=True)
            fh = open(self.lock_file, "ab")  # noqa: SIM115 - held for the engine's life
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                fh.close()
                return False
            fh.write(f"{os.getpid()}\n".encode())
            fh.flush()
            self._file = fh
            return True
        conn = self.db.engine.connect()
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar()
        conn.commit()
        if got:
            self._conn = conn
            return True
        conn.close()
        return False

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
                self._conn.commit()
            self._conn.close()
            self._conn = None

"""What the data-migration tests share: a SQLite database migrated up to the revision before
the one under test, and the user and project rows most of their data hangs from."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from sqlalchemy import Connection, text

from headwater.db.database import Database
from headwater.db.migrate import alembic_config


@contextmanager
def database_at(path: Path, revision: str) -> Iterator[Database]:
    """A SQLite database at ``path``, migrated up to ``revision``; disposed of afterwards."""
    db = Database(f"sqlite:///{path}")
    try:
        command.upgrade(alembic_config(db.url), revision)
        yield db
    finally:
        db.dispose()


def add_user(conn: Connection, now: dict[str, str]) -> None:
    """User ``u1`` (``u``), whom the projects belong to."""
    conn.execute(
        text(
            "INSERT INTO users (id, username, email, is_admin, created_at)"
            " VALUES ('u1', 'u', 'u@example.org', false, :now)"
        ),
        now,
    )


def add_project(
    conn: Connection, now: dict[str, str], *, project: str, name: str, personal: bool
) -> None:
    """A project of ``u1``'s."""
    conn.execute(
        text(
            "INSERT INTO projects (id, name, owner_id, description, public, personal,"
            " settings, created_at) VALUES (:id, :name, 'u1', '', false, :personal, '{}', :now)"
        ),
        {"id": project, "name": name, "personal": personal, **now},
    )

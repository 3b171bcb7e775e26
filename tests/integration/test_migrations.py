"""The Alembic migrations build exactly the schema of db/tables.py, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from headwater.db.database import Database
from headwater.db.migrate import alembic_config, upgrade
from headwater.db.tables import Base


def url_for(database_url: str | None, tmp_path: Path) -> str:
    return database_url or f"sqlite:///{tmp_path / 'migrations.db'}"


def differences(db: Database) -> list[Any]:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, Base.metadata))


def test_migrations_match_the_tables(database_url: str | None, tmp_path: Path) -> None:
    db = Database(url_for(database_url, tmp_path))
    try:
        upgrade(db)
        diff = differences(db)
        assert diff == [], "the migrations and db/tables.py disagree:\n" + "\n".join(map(str, diff))
        tables = set(inspect(db.engine).get_table_names())
        assert tables == set(Base.metadata.tables) | {"alembic_version"}
    finally:
        db.dispose()


def test_migrations_are_at_head_and_idempotent(database_url: str | None, tmp_path: Path) -> None:
    db = Database(url_for(database_url, tmp_path))
    try:
        upgrade(db)
        upgrade(db)  # a restart runs it again: a no-op
        heads = ScriptDirectory.from_config(alembic_config(db.url)).get_heads()
        assert len(heads) == 1, f"more than one migration head: {heads}"
        with db.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_heads() == tuple(heads)
    finally:
        db.dispose()


def test_downgrade_to_base_and_up_again(database_url: str | None, tmp_path: Path) -> None:
    db = Database(url_for(database_url, tmp_path))
    try:
        upgrade(db)
        cfg = alembic_config(db.url)
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade(db)
        assert differences(db) == []
    finally:
        db.dispose()

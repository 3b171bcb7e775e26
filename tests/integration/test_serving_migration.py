"""Migration 0010 on a database that has endpoints: each keeps its name as ``title`` and gets a
server-wide ``slug`` (the URL names no project), distinct even where two projects chose the same
title; going back restores the old column."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from sqlalchemy import text

from headwater.db.database import Database
from headwater.db.migrate import alembic_config, upgrade


def test_endpoints_get_distinct_slugs_and_keep_their_titles(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'serving.db'}")
    try:
        command.upgrade(alembic_config(db.url), "0009")
        now = {"now": datetime.now(UTC).isoformat()}
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (id, username, email, is_admin, created_at)"
                    " VALUES ('u1', 'u', 'u@example.org', false, :now)"
                ),
                now,
            )
            for project in ("p1", "p2"):
                conn.execute(
                    text(
                        "INSERT INTO projects (id, name, owner_id, description, public, personal,"
                        " settings, created_at)"
                        " VALUES (:p, :p, 'u1', '', false, false, '{}', :now)"
                    ),
                    {"p": project, **now},
                )
            for endpoint, project, name in [
                ("E1", "p1", "Churn-Model"),
                ("E2", "p2", "Churn-Model"),
                ("E3", "p2", "other"),
            ]:
                conn.execute(
                    text(
                        "INSERT INTO endpoints (id, project_id, slug, status, definition,"
                        " created_at, updated_at)"
                        " VALUES (:id, :p, :name, 'defined', '{}', :now, :now)"
                    ),
                    {"id": endpoint, "p": project, "name": name, **now},
                )
        upgrade(db)
        with db.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, title, slug, min_replicas, desired FROM endpoints ORDER BY id")
            ).all()
        assert [tuple(r) for r in rows] == [
            ("E1", "Churn-Model", "churn-model", 1, "running"),
            ("E2", "Churn-Model", "churn-model-e2", 1, "running"),
            ("E3", "other", "other", 1, "running"),
        ]
        command.downgrade(alembic_config(db.url), "0009")
        with db.engine.connect() as conn:
            back = conn.execute(text("SELECT id, slug FROM endpoints ORDER BY id")).all()
        assert [tuple(r) for r in back] == [
            ("E1", "Churn-Model"),
            ("E2", "Churn-Model"),
            ("E3", "other"),
        ]
    finally:
        db.dispose()

"""Migration 0010 on a database that has endpoints: each keeps its name as ``title`` and gets a
server-wide ``slug`` (the URL names no project), distinct even where two projects chose the same
title; going back restores the old column."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from sqlalchemy import text

from headwater.db.migrate import alembic_config, upgrade
from tests.support.migrations import add_project, add_user, database_at


def test_endpoints_get_distinct_slugs_and_keep_their_titles(tmp_path: Path) -> None:
    with database_at(tmp_path / "serving.db", "0009") as db:
        now = {"now": datetime.now(UTC).isoformat()}
        with db.engine.begin() as conn:
            add_user(conn, now)
            for project in ("p1", "p2"):
                add_project(conn, now, project=project, name=project, personal=False)
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

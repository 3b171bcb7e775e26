"""Migration 0007 on a database that has tokens: every token gets a public id, a running task's
token is bound to its experiment, and a task token no experiment holds is deleted (unbound, it
would act as its user's full token); going back deletes task tokens for the same reason."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from sqlalchemy import text

from headwater.db.migrate import alembic_config, upgrade
from tests.support.migrations import add_project, add_user, database_at

EXPERIMENT = (
    "INSERT INTO experiments (id, project_id, number, title, command, params, state, computes,"
    " resources, output_dir, options, restarts, created_by, task_token_hash, created_at, runner)"
    " VALUES ('e1', 'p1', 1, '', 'true', '{}', 'running', '[]', '{}', 'output', '{}', 0, 'u1',"
    " 'hash-task', :now, '{}')"
)


def test_tokens_get_ids_and_task_tokens_their_experiment(tmp_path: Path) -> None:
    with database_at(tmp_path / "tokens.db", "0006") as db:
        now = {"now": datetime.now(UTC).isoformat()}
        with db.engine.begin() as conn:
            add_user(conn, now)
            add_project(conn, now, project="p1", name="P", personal=True)
            conn.execute(text(EXPERIMENT), now)
            for digest, kind in [
                ("hash-api", "api"),
                ("hash-session", "session"),
                ("hash-task", "task"),
                ("hash-orphan", "task"),
            ]:
                conn.execute(
                    text(
                        "INSERT INTO tokens (token_hash, user_id, kind, created_at)"
                        " VALUES (:digest, 'u1', :kind, :now)"
                    ),
                    {"digest": digest, "kind": kind, **now},
                )
        upgrade(db)
        with db.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT token_hash, id, experiment_id FROM tokens ORDER BY token_hash")
            ).all()
        assert [(r.token_hash, r.experiment_id) for r in rows] == [
            ("hash-api", None),
            ("hash-session", None),
            ("hash-task", "e1"),
        ]
        ids = [r.id for r in rows]
        assert all(ids)
        assert len(set(ids)) == 3
        assert not set(ids) & {"hash-api", "hash-session", "hash-task"}

        command.downgrade(alembic_config(db.url), "0006")
        with db.engine.connect() as conn:
            left = conn.execute(text("SELECT token_hash FROM tokens ORDER BY token_hash")).all()
        assert [r.token_hash for r in left] == ["hash-api", "hash-session"]

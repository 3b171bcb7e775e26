"""Migration 0015 on a database with experiments: values get their numbers, the start params
become values of kind ``run``, each metric's latest, lowest and highest value is summarised from
its packed chunks (non-finite points, stored before they were refused, left out), and the
project's keys are listed."""

from __future__ import annotations

import math
from array import array
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from sqlalchemy import text

from headwater.db.migrate import alembic_config, upgrade
from tests.support.migrations import add_project, add_user, database_at

EXPERIMENT = (
    "INSERT INTO experiments (id, project_id, number, title, command, params, state, computes,"
    " resources, output_dir, options, restarts, created_by, created_at, runner)"
    " VALUES ('e1', 'p1', 1, '', 'true', :params, 'success', '[]', '{}', 'output', '{}', 0, 'u1',"
    " :now, '{}')"
)


def packed(values: list[float]) -> bytes:
    return array("d", values).tobytes()  # the test machine is little-endian, as the repo packs


def test_values_numbers_run_params_and_metric_summaries(tmp_path: Path) -> None:
    with database_at(tmp_path / "columns.db", "0014") as db:
        now = {"now": datetime.now(UTC).isoformat()}
        with db.engine.begin() as conn:
            add_user(conn, now)
            add_project(conn, now, project="p1", name="P", personal=True)
            conn.execute(text(EXPERIMENT), {"params": '{"lr": "0.1", "opt": "adam"}', **now})
            for key, value in [("batch", "64"), ("name", "resnet")]:
                conn.execute(
                    text(
                        "INSERT INTO experiment_values (experiment_id, kind, key, value, at)"
                        " VALUES ('e1', 'param', :key, :value, :now)"
                    ),
                    {"key": key, "value": value, **now},
                )
            for values in ([0.5, 0.9], [math.nan, 0.7], [0.2]):
                conn.execute(
                    text(
                        "INSERT INTO metric_chunks (experiment_id, key, count, max_step, steps,"
                        " \"values\", times) VALUES ('e1', 'acc', :n, 0, :steps, :values, :times)"
                    ),
                    {"n": len(values), "steps": b"", "values": packed(values), "times": b""},
                )
        upgrade(db)
        with db.engine.connect() as conn:
            values = conn.execute(
                text("SELECT kind, key, value, number FROM experiment_values ORDER BY kind, key")
            ).all()
            summary = conn.execute(text("SELECT key, latest, min, max FROM metric_summaries")).all()
            keys = conn.execute(text("SELECT kind, key FROM experiment_keys ORDER BY kind, key"))
        assert [tuple(v) for v in values] == [
            ("param", "batch", "64", 64.0),
            ("param", "name", "resnet", None),
            ("run", "lr", "0.1", 0.1),
            ("run", "opt", "adam", None),
        ]
        assert [tuple(s) for s in summary] == [("acc", 0.2, 0.2, 0.9)]
        assert [tuple(k) for k in keys] == [
            ("metric", "acc"),
            ("param", "batch"),
            ("param", "lr"),
            ("param", "name"),
            ("param", "opt"),
        ]

        command.downgrade(alembic_config(db.url), "0014")
        with db.engine.connect() as conn:
            kinds = conn.execute(text("SELECT DISTINCT kind FROM experiment_values")).scalars()
            assert list(kinds) == ["param"]

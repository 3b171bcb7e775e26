"""experiments table columns: a value's number, the start parameters as values, metric
summaries, the keys of each project

The experiments table filters and sorts thousands of runs by any param, tag or metric in SQL:
``experiment_values.number`` holds a value that reads as a number; the parameters each
experiment was started with are repeated there as kind ``run``; ``metric_summaries`` keeps each
metric's latest, lowest and highest value; ``experiment_keys`` the keys a project's experiments
have. All are filled from what is stored.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 07:30:00
"""

from __future__ import annotations

import math
import re
import sys
from array import array
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_BATCH = 2000


def _number(text: str) -> float | None:
    if not _NUMBER.fullmatch(text.strip()):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _doubles(data: bytes) -> list[float]:
    packed = array("d")
    packed.frombytes(data)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tolist()


def _rows(conn: sa.Connection, query: Any) -> Iterator[Any]:
    yield from conn.execute(query.execution_options(yield_per=_BATCH))


def upgrade() -> None:
    with op.batch_alter_table("experiment_values") as batch:
        batch.add_column(sa.Column("number", sa.Float(), nullable=True))
    op.create_table(
        "metric_summaries",
        sa.Column("experiment_id", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("latest", sa.Float(), nullable=False),
        sa.Column("min", sa.Float(), nullable=False),
        sa.Column("max", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_metric_summaries_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("experiment_id", "key", name=op.f("pk_metric_summaries")),
    )
    op.create_table(
        "experiment_keys",
        sa.Column("project_id", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_experiment_keys_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "kind", "key", name=op.f("pk_experiment_keys")),
    )
    conn = op.get_bind()
    values = sa.table(
        "experiment_values",
        sa.column("experiment_id", sa.String),
        sa.column("kind", sa.String),
        sa.column("key", sa.String),
        sa.column("value", sa.Text),
        sa.column("number", sa.Float),
        sa.column("at", sa.DateTime(timezone=True)),
    )
    _fill_numbers(conn, values)
    _copy_run_params(conn, values)
    _summarise_metrics(conn)
    _list_keys()


def _list_keys() -> None:
    op.execute(
        "INSERT INTO experiment_keys (project_id, kind, key)"
        " SELECT DISTINCT e.project_id, CASE WHEN v.kind = 'tag' THEN 'tag' ELSE 'param' END,"
        " v.key FROM experiment_values v JOIN experiments e ON e.id = v.experiment_id"
        " WHERE v.kind IN ('param', 'run', 'tag')"
    )
    op.execute(
        "INSERT INTO experiment_keys (project_id, kind, key)"
        " SELECT DISTINCT e.project_id, 'metric', m.key FROM metric_summaries m"
        " JOIN experiments e ON e.id = m.experiment_id"
    )


def _fill_numbers(conn: sa.Connection, values: Any) -> None:
    found = [
        {"e": r.experiment_id, "k": r.kind, "b_key": r.key, "b_number": _number(r.value)}
        for r in _rows(
            conn, sa.select(values.c.experiment_id, values.c.kind, values.c.key, values.c.value)
        )
    ]
    update = (
        values.update()
        .where(
            values.c.experiment_id == sa.bindparam("e"),
            values.c.kind == sa.bindparam("k"),
            values.c.key == sa.bindparam("b_key"),
        )
        .values(number=sa.bindparam("b_number"))
    )
    numbered = [f for f in found if f["b_number"] is not None]
    for i in range(0, len(numbered), _BATCH):
        conn.execute(update, numbered[i : i + _BATCH])


def _copy_run_params(conn: sa.Connection, values: Any) -> None:
    experiments = sa.table(
        "experiments",
        sa.column("id", sa.String),
        sa.column("params", sa.JSON),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    out: list[dict[str, Any]] = []
    query = sa.select(experiments.c.id, experiments.c.params, experiments.c.created_at)
    for row in _rows(conn, query):
        for key, value in (row.params or {}).items():
            text = str(value)
            out.append(
                {
                    "experiment_id": row.id,
                    "kind": "run",
                    "key": str(key)[:255],
                    "value": text,
                    "number": _number(text),
                    "at": row.created_at,
                }
            )
    for i in range(0, len(out), _BATCH):
        conn.execute(values.insert(), out[i : i + _BATCH])


def _summarise_metrics(conn: sa.Connection) -> None:
    chunks = sa.table(
        "metric_chunks",
        sa.column("id", sa.Integer),
        sa.column("experiment_id", sa.String),
        sa.column("key", sa.String),
        sa.column("values", sa.LargeBinary),
    )
    summaries: dict[tuple[str, str], list[float]] = {}
    query = sa.select(chunks.c.experiment_id, chunks.c.key, chunks.c["values"]).order_by(
        chunks.c.id
    )
    for row in _rows(conn, query):
        finite = [v for v in _doubles(row[2]) if math.isfinite(v)]
        if not finite:
            continue
        now = summaries.get((row[0], row[1]))
        if now is None:
            summaries[(row[0], row[1])] = [finite[-1], min(finite), max(finite)]
        else:
            summaries[(row[0], row[1])] = [finite[-1], min(now[1], *finite), max(now[2], *finite)]
    table = sa.table(
        "metric_summaries",
        sa.column("experiment_id", sa.String),
        sa.column("key", sa.String),
        sa.column("latest", sa.Float),
        sa.column("min", sa.Float),
        sa.column("max", sa.Float),
    )
    out = [
        {"experiment_id": e, "key": k, "latest": v[0], "min": v[1], "max": v[2]}
        for (e, k), v in summaries.items()
    ]
    for i in range(0, len(out), _BATCH):
        conn.execute(table.insert(), out[i : i + _BATCH])


def downgrade() -> None:
    op.drop_table("experiment_keys")
    op.drop_table("metric_summaries")
    op.execute("DELETE FROM experiment_values WHERE kind = 'run'")
    with op.batch_alter_table("experiment_values") as batch:
        batch.drop_column("number")

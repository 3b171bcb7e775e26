"""The experiments table's filter and sort (``domain.runquery``) as SQL, on SQLite and PostgreSQL.

Each column is a scalar subquery correlated with the experiment's row: a param is its logged
value, else the one it was started with (kind ``run``); a metric is a column of its summary.
Both look up a primary key, so sorting 10,000 experiments by a metric is 10,000 index probes,
not a read of their points. A comparison on a value the experiment lacks is false (SQL's NULL
is turned into false), so ``not`` of it is true: ``not (params.optimizer == adam)`` includes the
runs without an optimizer.

The writes that keep what it reads: ``summarise`` folds each metric batch into its summary,
``remember_keys`` adds a project's new keys (``ExperimentRepo`` calls both as values arrive).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    extract,
    false,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from headwater.db.tables import (
    ExperimentKeyRow,
    ExperimentRow,
    ExperimentValueRow,
    MetricSummaryRow,
    UTCDateTime,
)
from headwater.domain.runquery import (
    Agg,
    AllOf,
    AnyOf,
    Builtin,
    Column,
    Condition,
    Node,
    Not,
    Op,
    Source,
)

_BUILTINS: dict[Builtin, Any] = {
    Builtin.NUMBER: ExperimentRow.number,
    Builtin.TITLE: ExperimentRow.title,
    Builtin.STATUS: ExperimentRow.state,
    Builtin.CREATED: ExperimentRow.created_at,
    Builtin.STARTED: ExperimentRow.started_at,
    Builtin.ENDED: ExperimentRow.ended_at,
}
_SUMMARY = {
    Agg.LATEST: MetricSummaryRow.latest,
    Agg.MIN: MetricSummaryRow.min,
    Agg.MAX: MetricSummaryRow.max,
}


def value_of(kind: str, key: str, *, number: bool) -> Any:
    """A param's (or tag's) value, as text or as its number: the logged one wins over the
    one it was started with ('run' sorts before 'param' the other way round)."""
    kinds = ["param", "run"] if kind == "param" else [kind]
    column = ExperimentValueRow.number if number else ExperimentValueRow.value
    return (
        select(column)
        .where(
            ExperimentValueRow.experiment_id == ExperimentRow.id,
            ExperimentValueRow.kind.in_(kinds),
            ExperimentValueRow.key == key,
        )
        .order_by(ExperimentValueRow.kind.asc())  # param before run
        .limit(1)
        .scalar_subquery()
    )


def metric_of(key: str, agg: Agg) -> Any:
    return (
        select(_SUMMARY[agg])
        .where(MetricSummaryRow.experiment_id == ExperimentRow.id, MetricSummaryRow.key == key)
        .scalar_subquery()
    )


def duration(dialect: str, now: datetime) -> Any:
    """Seconds from start to end (to now while it runs); NULL before it starts."""
    end = func.coalesce(ExperimentRow.ended_at, literal(now, UTCDateTime()))
    if dialect == "postgresql":
        return extract("epoch", end - ExperimentRow.started_at)
    return (func.julianday(end) - func.julianday(ExperimentRow.started_at)) * 86400.0


def sort_keys(column: Column, dialect: str) -> list[Any]:
    """What to order by for ``column``, before the tie-break: a param or tag by its number,
    then (the ones that are not numbers) by its text."""
    if column.source is Source.METRIC:
        return [metric_of(column.key, column.agg)]
    if column.source in (Source.PARAM, Source.TAG):
        kind = "param" if column.source is Source.PARAM else "tag"
        return [value_of(kind, column.key, number=True), value_of(kind, column.key, number=False)]
    builtin = Builtin(column.key)
    if builtin is Builtin.DURATION:
        return [duration(dialect, datetime.now(UTC))]
    return [_BUILTINS[builtin]]


def where_of(node: Node, dialect: str) -> ColumnElement[bool]:
    """The filter as one boolean SQL expression (never NULL)."""
    if isinstance(node, Condition):
        return func.coalesce(_compare(node, dialect), false())
    if isinstance(node, Not):
        return not_(where_of(node.item, dialect))
    if isinstance(node, AllOf):
        return and_(*(where_of(i, dialect) for i in node.items))
    if isinstance(node, AnyOf):
        return or_(*(where_of(i, dialect) for i in node.items))
    raise TypeError(f"unresolved filter node {node!r}")  # resolve() turns every Compare


def _compare(cond: Condition, dialect: str) -> Any:
    column, operand = cond.column, cond.operand
    if column.source is Source.METRIC:
        left = metric_of(column.key, column.agg)
    elif column.source in (Source.PARAM, Source.TAG):
        kind = "param" if column.source is Source.PARAM else "tag"
        left = value_of(kind, column.key, number=isinstance(operand, float))
    elif column.key == Builtin.DURATION:
        left = duration(dialect, datetime.now(UTC))
    else:
        left = _BUILTINS[Builtin(column.key)]
    return _OPERATORS[cond.op](left, operand)


_OPERATORS: dict[Op, Any] = {
    Op.EQ: lambda a, b: a == b,
    Op.NE: lambda a, b: a != b,
    Op.LT: lambda a, b: a < b,
    Op.LE: lambda a, b: a <= b,
    Op.GT: lambda a, b: a > b,
    Op.GE: lambda a, b: a >= b,
}


# -- the writes that keep the summaries and the keys ------------------------------------------


def _insert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def remember_keys(session: Session, experiment_id: str, kind: str, keys: Iterable[str]) -> None:
    """Add keys to the project's list (``catalog``); those it has already are left."""
    chosen: Any = select(ExperimentRow.project_id, bindparam("k_kind"), bindparam("k_key")).where(
        ExperimentRow.id == bindparam("k_experiment")
    )
    stmt = (
        _insert(session, ExperimentKeyRow)
        .from_select(["project_id", "kind", "key"], chosen)
        .on_conflict_do_nothing()
    )
    params = [{"k_experiment": experiment_id, "k_kind": kind, "k_key": k} for k in keys]
    if params:  # Core: the ORM's bulk insert takes no INSERT ... SELECT
        session.flush()
        session.connection().execute(stmt, params)


def summarise(
    session: Session,
    experiment_id: str,
    by_key: dict[str, tuple[list[int | None], list[float], list[float]]],
) -> None:
    """Fold a batch into each key's latest, lowest and highest value (one upsert)."""
    stmt = _insert(session, MetricSummaryRow)
    postgres = session.get_bind().dialect.name == "postgresql"
    lowest, highest = (func.least, func.greatest) if postgres else (func.min, func.max)
    stmt = stmt.on_conflict_do_update(
        index_elements=["experiment_id", "key"],
        set_={
            "latest": stmt.excluded.latest,
            "min": lowest(MetricSummaryRow.min, stmt.excluded.min),
            "max": highest(MetricSummaryRow.max, stmt.excluded.max),
        },
    )
    session.execute(
        stmt,
        [
            {
                "experiment_id": experiment_id,
                "key": key,
                "latest": values[-1],
                "min": min(values),
                "max": max(values),
            }
            for key, (_, values, _) in by_key.items()
        ],
    )

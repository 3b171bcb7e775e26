"""Experiments, their logs, metrics, parameters and tags."""

from __future__ import annotations

import itertools
import math
import sys
import time
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Row, Select, Table, bindparam, delete, func, insert, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from headwater.db.repos.runquery import remember_keys, summarise
from headwater.db.tables import (
    ExperimentKeyRow,
    ExperimentRow,
    ExperimentValueRow,
    LogChunkRow,
    MetricChunkRow,
    TokenRow,
)
from headwater.domain.errors import InvalidInput, NotFound
from headwater.domain.ids import as_number, new_id
from headwater.domain.jobs import Experiment, JobState, check_move
from headwater.domain.runquery import number_in


def _pack(code: str, items: Sequence[float] | Sequence[int]) -> bytes:
    """Little-endian packed numbers, the same bytes on every machine."""
    packed = array(code, items)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def _unpack(code: str, data: bytes) -> list[Any]:
    packed = array(code)
    packed.frombytes(data)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tolist()


# Every column, for reads that need no ORM object (the engine's hot path: each task's launch,
# reports and end read and write its row a few times).
TABLE = cast(Table, ExperimentRow.__table__)
COLUMNS = tuple(TABLE.c)
# built once: building a statement costs more than running it on SQLite
ONE = select(*COLUMNS).where(TABLE.c.id == bindparam("experiment_id"))
UPDATE_ONE = TABLE.update().where(TABLE.c.id == bindparam("experiment_id"))


def to_experiment(row: ExperimentRow | Row[Any]) -> Experiment:
    return Experiment(
        id=row.id,
        project_id=row.project_id,
        number=row.number,
        title=row.title,
        command=row.command,
        params=dict(row.params),
        state=row.state,
        reason=row.reason,
        exit_code=row.exit_code,
        computes=list(row.computes),
        compute=row.compute,
        resources=dict(row.resources),
        start_commit=row.start_commit,
        output_commit=row.output_commit,
        output_dir=row.output_dir,
        options=dict(row.options),
        restarts=row.restarts,
        created_by=row.created_by,
        created_at=row.created_at,
        started_at=row.started_at,
        ended_at=row.ended_at,
        last_output_at=row.last_output_at,
        runner=dict(row.runner),
        task_token_hash=row.task_token_hash,
    )


QueueKey = tuple[datetime, int, str]  # (created_at, number, id): a place in the queue


@dataclass(frozen=True)
class Waiting:
    id: str
    project_id: str
    computes: list[str]
    created_by: str
    key: QueueKey | None = None


HELD = select(TABLE.c.resources).where(TABLE.c.state.in_([JobState.INITIALIZING, JobState.RUNNING]))
TOUCH = UPDATE_ONE.values(last_output_at=bindparam("at"))
WAITING = (
    select(TABLE.c.id, TABLE.c.project_id, TABLE.c.computes, TABLE.c.created_by)
    .where(TABLE.c.state == JobState.QUEUED)
    .order_by(TABLE.c.created_at, TABLE.c.number)
)
_QUEUE_COLUMNS = (
    TABLE.c.id,
    TABLE.c.project_id,
    TABLE.c.computes,
    TABLE.c.created_by,
    TABLE.c.created_at,
    TABLE.c.number,
)
_QUEUE_ORDER = (TABLE.c.created_at, TABLE.c.number, TABLE.c.id)
QUEUE_HEAD = (
    select(*_QUEUE_COLUMNS)
    .where(TABLE.c.state == JobState.QUEUED)
    .order_by(*_QUEUE_ORDER)
    .limit(bindparam("limit"))
)
QUEUE_AFTER = (
    select(*_QUEUE_COLUMNS)
    .where(
        TABLE.c.state == JobState.QUEUED,
        tuple_(*_QUEUE_ORDER)
        > tuple_(
            bindparam("at", type_=TABLE.c.created_at.type),
            bindparam("number", type_=TABLE.c.number.type),
            bindparam("id", type_=TABLE.c.id.type),
        ),
    )
    .order_by(*_QUEUE_ORDER)
    .limit(bindparam("limit"))
)


_LOG_INSERTS: dict[str, Any] = {}  # by dialect, built once


class ExperimentRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def _insert(self, table: Any) -> Any:
        dialect = self.s.get_bind().dialect.name
        return (postgresql if dialect == "postgresql" else sqlite).insert(table)

    # -- experiments ---------------------------------------------------------------------

    def create_many(
        self,
        project_id: str,
        created_by: str,
        *,
        command: str,
        runs: Sequence[dict[str, str]],
        title: str,
        computes: list[str],
        start_commit: str | None,
        output_dir: str,
        options: dict[str, Any],
        resources: dict[str, Any],
        options_each: Sequence[dict[str, Any]] | None = None,
    ) -> list[Experiment]:
        """One queued experiment per parameter combination, numbered on from the last;
        ``options_each`` adds options of each one's own (a flow's instances: their routes)."""
        if options_each is not None and len(options_each) != len(runs):
            raise ValueError("options_each needs one entry per run")
        last = self.s.scalar(
            select(func.max(ExperimentRow.number)).where(ExperimentRow.project_id == project_id)
        )
        now = datetime.now(UTC)
        rows = []
        for i, params in enumerate(runs):
            number = (last or 0) + 1 + i
            rows.append(
                ExperimentRow(
                    id=new_id(),
                    project_id=project_id,
                    number=number,
                    title=title or f"Experiment {number}",
                    command=command,
                    params=dict(params),
                    state=JobState.QUEUED,
                    computes=list(computes),
                    start_commit=start_commit,
                    output_dir=output_dir,
                    options={**options, **(options_each[i] if options_each else {})},
                    resources=dict(resources),
                    restarts=0,
                    created_by=created_by,
                    created_at=now,
                    runner={},
                )
            )
        self.s.add_all(rows)
        self.s.flush()
        values = [
            {
                "experiment_id": r.id,
                "kind": "run",
                "key": k,
                "value": v,
                "number": number_in(v),
                "at": now,
            }
            for r in rows
            for k, v in r.params.items()
        ]
        if values:  # the start parameters as values: the table's param columns read one table
            self.s.execute(insert(ExperimentValueRow), values)
            keys = sorted({v["key"] for v in values})
            stmt = self._insert(ExperimentKeyRow).on_conflict_do_nothing()
            rows_of_keys = [{"project_id": project_id, "kind": "param", "key": k} for k in keys]
            self.s.execute(stmt, rows_of_keys)
        return [to_experiment(r) for r in rows]

    def get(self, experiment_id: str, project_id: str | None = None) -> Experiment:
        self.s.flush()  # a Core read sees what this session changed through the ORM
        row = self.s.connection().execute(ONE, {"experiment_id": experiment_id}).first()
        if row is None or (project_id is not None and row.project_id != project_id):
            raise NotFound(
                f"no experiment {experiment_id!r} in this project",
                where="experiment",
                hint="List experiments with `hw experiments list`.",
            )
        return to_experiment(row)

    def _update(self, experiment_id: str, **values: Any) -> None:
        """One UPDATE of the row, no ORM object (none of the engine's sessions holds one)."""
        self.s.connection().execute(UPDATE_ONE, {"experiment_id": experiment_id, **values})

    def find(self, project_id: str, ref: str) -> Experiment:
        """By id, or by the number people see (``12``)."""
        number = as_number(ref)
        if number is not None:
            row = self.s.scalar(
                select(ExperimentRow).where(
                    ExperimentRow.project_id == project_id, ExperimentRow.number == number
                )
            )
            if row is not None:
                return to_experiment(row)
        return self.get(ref, project_id)

    def waiting(self) -> list[Waiting]:
        """Queued experiments, oldest first: only what scheduling reads (it runs often)."""
        self.s.flush()
        rows = self.s.connection().execute(WAITING).all()
        return [Waiting(r[0], r[1], list(r[2]), r[3]) for r in rows]

    def queue_page(self, after: QueueKey | None, limit: int) -> list[Waiting]:
        """Up to ``limit`` queued experiments in the queue's order, from just after ``after``
        (the start with None): a pass reads the head of a 10,000-experiment queue, not all
        of it (``ix_experiments_queue`` serves the order)."""
        self.s.flush()
        if after is None:
            rows = self.s.connection().execute(QUEUE_HEAD, {"limit": limit}).all()
        else:
            at, number, eid = after
            args = {"at": at, "number": number, "id": eid, "limit": limit}
            rows = self.s.connection().execute(QUEUE_AFTER, args).all()
        return [Waiting(r[0], r[1], list(r[2]), r[3], key=(r[4], r[5], r[0])) for r in rows]

    def held_resources(self) -> list[dict[str, Any]]:
        """What initializing and running experiments hold."""
        self.s.flush()
        return list(self.s.connection().scalars(HELD).all())

    def in_states(
        self, states: Iterable[JobState], *, among: Select[str | None] | None = None
    ) -> list[Experiment]:
        """Experiments in ``states``, oldest first; only those ``among`` gives, when given."""
        where = [ExperimentRow.state.in_(list(states))]
        if among is not None:
            where.append(ExperimentRow.id.in_(among.scalar_subquery()))
        rows = self.s.scalars(
            select(ExperimentRow)
            .where(*where)
            .order_by(ExperimentRow.created_at, ExperimentRow.number)
        ).all()
        return [to_experiment(r) for r in rows]

    def move(
        self,
        experiment_id: str,
        target: JobState,
        *,
        reason: str | None = None,
        exit_code: int | None = None,
        output_commit: str | None = None,
        runner: dict[str, Any] | None = None,
        compute: str | None = None,
        resources: dict[str, Any] | None = None,
        restart: bool = False,
        end_token: bool = True,
        started_at: datetime | None = None,
    ) -> tuple[Experiment, Experiment]:
        """Apply one transition; returns (before, after).

        A terminal state ends the task's token, unless ``end_token`` is False (a user's stop:
        the runtime still flushes its last logs and outputs, then its final report ends it).
        ``started_at``: when the command started, for a move to running (never later than now).
        """
        before = self.get(experiment_id)
        check_move(before.state, target, where=f"experiment {before.number}")
        now = datetime.now(UTC)
        changes: dict[str, Any] = {"state": target}
        if reason is not None:
            changes["reason"] = reason
        if exit_code is not None:
            changes["exit_code"] = exit_code
        if output_commit is not None:
            changes["output_commit"] = output_commit
        if runner is not None:
            changes["runner"] = {**before.runner, **runner}
        if compute is not None:
            changes["compute"] = compute
        if resources is not None:
            changes["resources"] = resources
        if target is JobState.RUNNING and before.started_at is None:
            changes["started_at"] = now if started_at is None else min(started_at, now)
        if target is JobState.QUEUED:
            changes["runner"] = {}
            if restart:
                changes["restarts"] = before.restarts + 1
            self._end_token(experiment_id, changes)
        if target.terminal:
            changes["ended_at"] = now
            if end_token:
                self._end_token(experiment_id, changes)
        self._update(experiment_id, **changes)
        return before, replace(before, **changes)

    def move_queued(self, ids: Select[str | None], target: JobState, *, reason: str) -> list[str]:
        """Every queued experiment among ``ids`` moved at once (a stopped run's thousands):
        the transition table's rule for queued work, one UPDATE; returns the ids it moved
        (ones that left the queue meanwhile are not touched). Reads no row: the notifiers
        read them later (``Notifications.ended_in_bulk``)."""
        check_move(JobState.QUEUED, target, where="queued experiments")
        self.s.flush()
        changes = {"state": target, "reason": reason, "ended_at": datetime.now(UTC)}
        moved = self.s.connection().execute(
            TABLE.update()
            .where(TABLE.c.state == JobState.QUEUED, TABLE.c.id.in_(ids.scalar_subquery()))
            .values(**changes)
            .returning(TABLE.c.id)
        )
        done = [r[0] for r in moved]
        for start in range(0, len(done), 500):  # as `move` does (a queued one holds none)
            self.s.execute(
                delete(TokenRow)
                .where(TokenRow.experiment_id.in_(done[start : start + 500]))
                .execution_options(synchronize_session=False)
            )
        return done

    def many(self, ids: Sequence[str]) -> list[Experiment]:
        """The experiments of ``ids`` that exist, in no particular order."""
        rows = self.s.connection().execute(select(*COLUMNS).where(TABLE.c.id.in_(list(ids))))
        return [to_experiment(r) for r in rows]

    def add_runner(self, experiment_id: str, runner: dict[str, Any]) -> Experiment:
        """Record how to find the task again, whatever state its reports have reached;
        returns the experiment as it is now (a stop may have ended it meanwhile)."""
        current = self.get(experiment_id)
        merged = {**current.runner, **runner}
        self._update(experiment_id, runner=merged)
        return replace(current, runner=merged)

    def end_task_token(self, experiment_id: str) -> None:
        changes: dict[str, Any] = {}
        self._end_token(experiment_id, changes)
        self._update(experiment_id, **changes)

    def set_task_token(self, experiment_id: str, token_hash: str) -> None:
        self._update(experiment_id, task_token_hash=token_hash)

    def _end_token(self, experiment_id: str, changes: dict[str, Any]) -> None:
        """Every token bound to the experiment stops authenticating: the task has ended (or
        goes back to the queue, to get a new one at its next launch)."""
        self.s.execute(
            delete(TokenRow)
            .where(TokenRow.experiment_id == experiment_id)
            .execution_options(synchronize_session=False)
        )
        changes["task_token_hash"] = None

    def set_output_commit(self, experiment_id: str, commit: str) -> None:
        self._update(experiment_id, output_commit=commit)

    # -- logs --------------------------------------------------------------------------

    def append_logs(self, experiment_id: str, chunks: Sequence[tuple[int, str, str]]) -> None:
        """Store (seq, stream, text) chunks; a chunk sent twice is kept once."""
        if not chunks:
            return
        now = datetime.now(UTC)
        dialect = self.s.get_bind().dialect.name
        stmt = _LOG_INSERTS.get(dialect)
        if stmt is None:
            stmt = _LOG_INSERTS[dialect] = self._insert(LogChunkRow).on_conflict_do_nothing()
        conn = self.s.connection()
        conn.execute(
            stmt,
            [
                {"experiment_id": experiment_id, "seq": s, "stream": st, "text": t, "at": now}
                for s, st, t in chunks
            ],
        )
        conn.execute(TOUCH, {"experiment_id": experiment_id, "at": now})

    def logs(self, experiment_id: str, *, after: int, limit: int) -> list[LogChunkRow]:
        rows = self.s.scalars(
            select(LogChunkRow)
            .where(LogChunkRow.experiment_id == experiment_id, LogChunkRow.seq >= after)
            .order_by(LogChunkRow.seq)
            .limit(limit)
        ).all()
        return list(rows)

    def logs_of(
        self, ids: Sequence[str], *, since: datetime | None, limit: int
    ) -> list[LogChunkRow]:
        """The logs of several experiments (an endpoint's replicas) written after ``since``,
        in time order."""
        query = select(LogChunkRow).where(LogChunkRow.experiment_id.in_(list(ids)))
        if since is not None:
            query = query.where(LogChunkRow.at > since)
        order = (LogChunkRow.at, LogChunkRow.experiment_id, LogChunkRow.seq)
        return list(self.s.scalars(query.order_by(*order).limit(limit)).all())

    def next_log_seq(self, experiment_id: str) -> int:
        last = self.s.scalar(
            select(func.max(LogChunkRow.seq)).where(LogChunkRow.experiment_id == experiment_id)
        )
        return 0 if last is None else last + 1

    # -- metrics, parameters and tags --------------------------------------------------

    def add_metrics(
        self,
        experiment_id: str,
        points: Sequence[tuple[str, int | None, float, float | None]],
        batch: str | None = None,
    ) -> int:
        """Store points as one packed chunk per key; a point without a step gets the next
        step of its key. A ``batch`` id already stored is a resend: nothing is stored again
        (the unique index settles two resends that race)."""
        if not points:
            return 0
        if batch is not None:
            stored = self.s.scalar(
                select(func.sum(MetricChunkRow.count)).where(
                    MetricChunkRow.experiment_id == experiment_id, MetricChunkRow.batch == batch
                )
            )
            if stored is not None:
                return int(stored)
        now = time.time()
        by_key: dict[str, tuple[list[int | None], list[float], list[float]]] = {}
        for i, (key, step, value, at) in enumerate(points):
            # NaN and ±inf break charts and JSON answers (``1e999`` parses as inf): kept out
            finite = math.isfinite(value) and (at is None or math.isfinite(at))
            if not key or len(key) > 255 or not finite:
                raise InvalidInput(
                    f"metric point {i} has an empty or over-long key, or a value or time that "
                    "is not a finite number (NaN, Infinity)",
                    where=f"points[{i}]",
                    hint="Keys are 1-255 characters; values are finite numbers.",
                )
            steps, values, times = by_key.setdefault(key, ([], [], []))
            steps.append(step)
            values.append(value)
            times.append(now if at is None else at)
        rows = []
        for key, (steps, values, times) in by_key.items():
            if None in steps:
                last = self._max_step(experiment_id, key)
                filled: list[int] = []
                for step in steps:
                    last = last + 1 if step is None else step
                    filled.append(last)
            else:
                filled = [s for s in steps if s is not None]
            rows.append(
                {
                    "experiment_id": experiment_id,
                    "key": key,
                    "count": len(filled),
                    "max_step": max(filled),
                    "steps": _pack("q", filled),
                    "values": _pack("d", values),
                    "times": _pack("d", times),
                    "batch": batch,
                }
            )
        self.s.execute(insert(MetricChunkRow), rows)
        summarise(self.s, experiment_id, by_key)
        remember_keys(self.s, experiment_id, "metric", by_key)
        return len(points)

    def _max_step(self, experiment_id: str, key: str) -> int:
        last = self.s.scalar(
            select(func.max(MetricChunkRow.max_step)).where(
                MetricChunkRow.experiment_id == experiment_id, MetricChunkRow.key == key
            )
        )
        return -1 if last is None else int(last)

    def metrics(
        self, experiment_id: str, key: str | None = None
    ) -> dict[str, tuple[list[int], list[float], list[float]]]:
        """Each key's (steps, values, times) in step order (ties: in the order logged)."""
        stmt = select(
            MetricChunkRow.key, MetricChunkRow.steps, MetricChunkRow.values, MetricChunkRow.times
        ).where(MetricChunkRow.experiment_id == experiment_id)
        if key is not None:
            stmt = stmt.where(MetricChunkRow.key == key)
        series: dict[str, tuple[list[int], list[float], list[float]]] = {}
        for k, steps, values, times in self.s.execute(
            stmt.order_by(MetricChunkRow.key, MetricChunkRow.id)
        ):
            s, v, ts = series.setdefault(k, ([], [], []))
            s.extend(_unpack("q", steps))
            v.extend(_unpack("d", values))
            ts.extend(_unpack("d", times))
        for k, (s, v, ts) in series.items():
            if not all(map(math.isfinite, v)):  # stored before non-finite values were refused
                kept = [i for i, x in enumerate(v) if math.isfinite(x)]
                s, v, ts = [s[i] for i in kept], [v[i] for i in kept], [ts[i] for i in kept]
                series[k] = (s, v, ts)
            if any(a > b for a, b in itertools.pairwise(s)):
                order = sorted(range(len(s)), key=s.__getitem__)  # stable: ties keep order
                series[k] = ([s[i] for i in order], [v[i] for i in order], [ts[i] for i in order])
        return series

    def latest_metrics(self, experiment_id: str) -> dict[str, float]:
        """The last value logged of each key."""
        last_ids = (
            select(func.max(MetricChunkRow.id))
            .where(MetricChunkRow.experiment_id == experiment_id)
            .group_by(MetricChunkRow.key)
        )
        rows = self.s.execute(
            select(MetricChunkRow.key, MetricChunkRow.values).where(MetricChunkRow.id.in_(last_ids))
        ).all()
        latest = {key: _unpack("d", values)[-1] for key, values in rows}
        return {key: value for key, value in latest.items() if math.isfinite(value)}

    def latest_metrics_of(self, ids: Sequence[str]) -> dict[str, dict[str, float]]:
        """``latest_metrics`` of many experiments in one query (a flow task's parents)."""
        if not ids:
            return {}
        last_ids = (
            select(func.max(MetricChunkRow.id))
            .where(MetricChunkRow.experiment_id.in_(list(ids)))
            .group_by(MetricChunkRow.experiment_id, MetricChunkRow.key)
        )
        rows = self.s.execute(
            select(MetricChunkRow.experiment_id, MetricChunkRow.key, MetricChunkRow.values).where(
                MetricChunkRow.id.in_(last_ids)
            )
        ).all()
        out: dict[str, dict[str, float]] = {}
        for eid, key, values in rows:
            last = _unpack("d", values)[-1]
            if math.isfinite(last):
                out.setdefault(eid, {})[key] = last
        return out

    def set_values(self, experiment_id: str, kind: str, values: dict[str, str]) -> None:
        if not values:
            return
        if kind in ("param", "tag"):
            remember_keys(self.s, experiment_id, kind, values)
        now = datetime.now(UTC)
        stmt = self._insert(ExperimentValueRow)
        stmt = stmt.on_conflict_do_update(
            index_elements=["experiment_id", "kind", "key"],
            set_={
                "value": stmt.excluded.value,
                "number": stmt.excluded.number,
                "at": stmt.excluded.at,
            },
        )
        self.s.execute(
            stmt,
            [
                {
                    "experiment_id": experiment_id,
                    "kind": kind,
                    "key": k,
                    "value": v,
                    "number": number_in(v),
                    "at": now,
                }
                for k, v in values.items()
            ],
        )

    def values(self, experiment_id: str) -> dict[str, dict[str, str]]:
        return self.values_of([experiment_id]).get(experiment_id, {"param": {}, "tag": {}})

    def values_of(self, ids: Sequence[str]) -> dict[str, dict[str, dict[str, str]]]:
        """Parameters and tags of many experiments in one query (a page of a listing)."""
        out: dict[str, dict[str, dict[str, str]]] = {}
        rows = self.s.execute(
            select(
                ExperimentValueRow.experiment_id,
                ExperimentValueRow.kind,
                ExperimentValueRow.key,
                ExperimentValueRow.value,
            )
            .where(ExperimentValueRow.experiment_id.in_(list(ids)))
            .order_by(ExperimentValueRow.key)
        ).all()
        for eid, kind, key, value in rows:
            out.setdefault(eid, {"param": {}, "tag": {}}).setdefault(kind, {})[key] = value
        return out

"""Runs of flows ("bakes"): each run's tasks and their instances."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, insert, select
from sqlalchemy.orm import Session

from headwater.db.tables import (
    ExperimentRow,
    FlowInstanceRow,
    FlowRow,
    FlowRunRow,
    FlowTaskRow,
    UserRow,
)
from headwater.domain.errors import NotFound
from headwater.domain.flowruns import (
    FlowRecord,
    FlowRun,
    RunInstance,
    RunState,
    RunTask,
    TaskState,
    check_run_move,
    check_task_move,
)
from headwater.domain.ids import as_number, new_id
from headwater.domain.jobs import JobState

ACTIVE_RUNS = (RunState.RUNNING, RunState.PENDING_APPROVAL)
GOING = [s for s in JobState if not s.terminal]  # an instance in these has not ended
_ANY_GOING = (  # built once: the flow pass asks on every engine pass
    select(FlowInstanceRow.id)
    .outerjoin(ExperimentRow, ExperimentRow.id == FlowInstanceRow.experiment_id)
    .where(
        FlowInstanceRow.run_id == bindparam("run_id"),
        FlowInstanceRow.task == bindparam("task"),
        func.coalesce(ExperimentRow.state, FlowInstanceRow.state).in_(GOING),
    )
    .limit(1)
)
_ACTIVE_RUN_KEYS = (
    select(FlowRunRow.id, FlowRunRow.flow_id, FlowRunRow.version, FlowRunRow.state)
    .where(FlowRunRow.state.in_(ACTIVE_RUNS))
    .order_by(FlowRunRow.created_at)
)
_TASK_STATES = select(FlowTaskRow.title, FlowTaskRow.state).where(
    FlowTaskRow.run_id == bindparam("run_id")
)


@dataclass(frozen=True)
class ActiveRun:
    """What the engine's look before a pass needs of an active run (no names, no users)."""

    id: str
    flow_id: str
    version: int
    state: RunState


def active_run_keys(conn: Connection) -> list[ActiveRun]:
    """The active runs, oldest first, as four columns: asked on every engine pass."""
    return [
        ActiveRun(id=r.id, flow_id=r.flow_id, version=r.version, state=RunState(r.state))
        for r in conn.execute(_ACTIVE_RUN_KEYS)
    ]


def task_states(conn: Connection, run_id: str) -> dict[str, TaskState]:
    """Each task of the run and its state: the look before a pass."""
    return {r.title: TaskState(r.state) for r in conn.execute(_TASK_STATES, {"run_id": run_id})}


def any_going(conn: Connection, run_id: str, task: str) -> bool:
    """``RunRepo.any_going`` on a bare connection (the look before a pass)."""
    return conn.execute(_ANY_GOING, {"run_id": run_id, "task": task}).first() is not None


def _run(row: FlowRunRow, flow: str, username: str) -> FlowRun:
    return FlowRun(
        id=row.id,
        project_id=row.project_id,
        flow_id=row.flow_id,
        flow=flow,
        version=row.version,
        number=row.number,
        state=row.state,
        trigger=row.trigger,
        reason=row.reason,
        only=row.only,
        restart_of=row.restart_of,
        created_by=username,
        created_at=row.created_at,
        started_at=row.started_at,
        ended_at=row.ended_at,
        creator_id=row.created_by,
        cache=dict(row.cache or {}),
    )


_INSTANCES = select(
    FlowInstanceRow,
    ExperimentRow.state,
    ExperimentRow.started_at,
    ExperimentRow.ended_at,
    ExperimentRow.number,
    ExperimentRow.reason,
).outerjoin(ExperimentRow, ExperimentRow.id == FlowInstanceRow.experiment_id)


def _instance(
    row: FlowInstanceRow,
    state: JobState | None,
    started: datetime | None,
    ended: datetime | None,
    number: int | None,
    reason: str | None,
) -> RunInstance:
    """An instance as its experiment (if it has one) says it is now."""
    return RunInstance(
        id=row.id,
        run_id=row.run_id,
        task=row.task,
        experiment_id=row.experiment_id,
        state=state if state is not None else row.state,
        params=dict(row.params),
        parents=tuple(row.parents),
        data=dict(row.data),
        created_at=row.created_at,
        ended_at=ended if row.experiment_id else row.ended_at,
        number=number,
        reason=reason,
        started_at=started if row.experiment_id else row.created_at,
    )


def _task(row: FlowTaskRow) -> RunTask:
    return RunTask(
        run_id=row.run_id,
        title=row.title,
        state=row.state,
        reason=row.reason,
        approved=row.approved,
        decided_by=row.decided_by,
        comment=row.decision_comment,
    )


class RunRepo:
    def __init__(self, session: Session) -> None:
        self.s = session
        self._usernames: dict[str, str] = {}

    def _who(self, user_id: str) -> str:
        """A run shows who started it by username; one lookup per user per transaction."""
        if user_id not in self._usernames:
            name = self.s.scalar(select(UserRow.username).where(UserRow.id == user_id))
            self._usernames[user_id] = name or user_id
        return self._usernames[user_id]

    # -- runs ------------------------------------------------------------------------------

    def create_run(
        self,
        flow: FlowRecord,
        version: int,
        titles: Sequence[str],
        *,
        created_by: str,
        trigger: str,
        only: str | None = None,
        restart_of: int | None = None,
        cache: Mapping[str, Any] | None = None,
    ) -> FlowRun:
        last = self.s.scalar(
            select(func.max(FlowRunRow.number)).where(FlowRunRow.project_id == flow.project_id)
        )
        now = datetime.now(UTC)
        row = FlowRunRow(
            id=new_id(),
            project_id=flow.project_id,
            flow_id=flow.id,
            version=version,
            number=(last or 0) + 1,
            state=RunState.RUNNING,
            trigger=trigger,
            only=only,
            restart_of=restart_of,
            cache=dict(cache) if cache else None,
            created_by=created_by,
            created_at=now,
            started_at=now,
        )
        self.s.add(row)
        self.s.add_all(
            FlowTaskRow(run_id=row.id, title=t, state=TaskState.WAITING, updated_at=now)
            for t in titles
        )
        self.s.flush()
        return _run(row, flow.name, self._who(row.created_by))

    def _run_row(self, project_id: str, ref: str) -> FlowRunRow:
        row = None
        number = as_number(ref)
        if number is not None:
            row = self.s.scalar(
                select(FlowRunRow).where(
                    FlowRunRow.project_id == project_id, FlowRunRow.number == number
                )
            )
        if row is None:
            row = self.s.get(FlowRunRow, ref)
        if row is None or row.project_id != project_id:
            raise NotFound(
                f"no flow run {ref!r} in this project",
                where="run",
                hint="List runs with `hw bakes`.",
            )
        return row

    def _name(self, flow_id: str) -> str:
        return self.s.scalar(select(FlowRow.name).where(FlowRow.id == flow_id)) or "?"

    def find_run(self, project_id: str, ref: str) -> FlowRun:
        """By id, or by the number people see."""
        row = self._run_row(project_id, ref)
        return _run(row, self._name(row.flow_id), self._who(row.created_by))

    def lock_run(self, run_id: str) -> FlowRun:
        """The run, locked until the transaction ends: two passes over one run (the engine's
        and a request's) take turns, so a task never starts twice."""
        row = self.s.scalar(select(FlowRunRow).where(FlowRunRow.id == run_id).with_for_update())
        if row is None:
            raise NotFound(f"no flow run {run_id!r}", where="run", hint="List runs.")
        return _run(row, self._name(row.flow_id), self._who(row.created_by))

    def run(self, run_id: str) -> FlowRun:
        row = self.s.get(FlowRunRow, run_id)
        if row is None:
            raise NotFound(f"no flow run {run_id!r}", where="run", hint="List runs.")
        return _run(row, self._name(row.flow_id), self._who(row.created_by))

    def runs_page(
        self, project_id: str, *, flow_id: str | None, offset: int, limit: int
    ) -> tuple[list[FlowRun], int]:
        where = [FlowRunRow.project_id == project_id]
        if flow_id is not None:
            where.append(FlowRunRow.flow_id == flow_id)
        total = self.s.scalar(select(func.count()).select_from(FlowRunRow).where(*where)) or 0
        rows = self.s.execute(
            select(FlowRunRow, FlowRow.name)
            .join(FlowRow, FlowRow.id == FlowRunRow.flow_id)
            .where(*where)
            .order_by(FlowRunRow.number.desc())
            .offset(offset)
            .limit(limit)
        ).all()
        return [_run(r[0], r[1], self._who(r[0].created_by)) for r in rows], total

    def active_runs(self) -> list[FlowRun]:
        rows = self.s.execute(
            select(FlowRunRow, FlowRow.name)
            .join(FlowRow, FlowRow.id == FlowRunRow.flow_id)
            .where(FlowRunRow.state.in_(ACTIVE_RUNS))
            .order_by(FlowRunRow.created_at)
        ).all()
        return [_run(r[0], r[1], self._who(r[0].created_by)) for r in rows]

    def move_run(self, run_id: str, target: RunState, *, reason: str | None = None) -> FlowRun:
        row = self.s.get(FlowRunRow, run_id)
        if row is None:
            raise NotFound(f"no flow run {run_id!r}", where="run", hint="List runs.")
        if row.state != target:
            check_run_move(row.state, target, where=f"run {row.number}")
            row.state = target
            if target.terminal:
                row.ended_at = datetime.now(UTC)
        if reason is not None:
            row.reason = reason
        return _run(row, self._name(row.flow_id), self._who(row.created_by))

    # -- tasks and instances ---------------------------------------------------------------

    def tasks(self, run_id: str) -> list[RunTask]:
        rows = self.s.scalars(select(FlowTaskRow).where(FlowTaskRow.run_id == run_id)).all()
        return [_task(r) for r in rows]

    def move_task(
        self,
        run_id: str,
        title: str,
        target: TaskState,
        *,
        reason: str | None = None,
        approved: bool | None = None,
        decided_by: str | None = None,
        comment: str | None = None,
    ) -> RunTask:
        row = self.s.get(FlowTaskRow, (run_id, title))
        if row is None:
            raise NotFound(
                f"this run has no task {title!r}",
                where="task",
                hint="`hw inspect RUN` lists its tasks.",
            )
        if row.state != target:
            check_task_move(row.state, target, where=f"task {title!r}")
            row.state = target
        if reason is not None:
            row.reason = reason
        if approved is not None:
            row.approved = approved
        if decided_by is not None:
            row.decided_by = decided_by
        if comment is not None:
            row.decision_comment = comment
        row.updated_at = datetime.now(UTC)
        return _task(row)

    def add_instances(self, run_id: str, instances: Iterable[RunInstance]) -> None:
        """One insert for all of them (a 10,000-wide fan-out: rows, not ORM objects)."""
        now = datetime.now(UTC)
        rows = [
            {
                "id": i.id,
                "run_id": run_id,
                "task": i.task,
                "experiment_id": i.experiment_id,
                "state": i.state,
                "params": dict(i.params),
                "parents": list(i.parents),
                "data": dict(i.data),
                "created_at": i.created_at or now,
                "ended_at": i.ended_at,
            }
            for i in instances
        ]
        if rows:
            self.s.execute(insert(FlowInstanceRow), rows)

    def state_counts(self, run_id: str) -> dict[str, dict[str, int]]:
        """Each task's instances by state, in one aggregate: what a waiting client polls, and
        how a pass tells whether anything ended without loading a wide fan-out's instances."""
        state = func.coalesce(ExperimentRow.state, FlowInstanceRow.state)
        rows = self.s.execute(
            select(FlowInstanceRow.task, state, func.count())
            .outerjoin(ExperimentRow, ExperimentRow.id == FlowInstanceRow.experiment_id)
            .where(FlowInstanceRow.run_id == run_id)
            .group_by(FlowInstanceRow.task, state)
        ).all()
        out: dict[str, dict[str, int]] = {}
        for task, value, count in rows:
            out.setdefault(task, {})[str(getattr(value, "value", value))] = int(count)
        return out

    def any_going(self, run_id: str, task: str) -> bool:
        """Whether an instance of the task has not ended: one probe that stops at the first,
        where counting a 10,000-instance task by state on every pass would read it whole.
        (``ix_flow_instances_run_task`` walks the task's instances by id, in no relation to
        the queue's order, so one still going is found within a few rows.)"""
        return any_going(self.s.connection(), run_id, task)

    def experiment_ids(self, run_id: str) -> Select[str | None]:
        """The run's experiments, as a subquery for statements over all of them at once."""
        return select(FlowInstanceRow.experiment_id).where(
            FlowInstanceRow.run_id == run_id, FlowInstanceRow.experiment_id.is_not(None)
        )

    def instances(self, run_id: str) -> list[RunInstance]:
        """Every instance of a run; exec instances carry their experiment's state and times.
        The engine reads them whole as a task starts or ends; readers page them."""
        rows = self.s.execute(
            _INSTANCES.where(FlowInstanceRow.run_id == run_id).order_by(
                FlowInstanceRow.created_at, FlowInstanceRow.id
            )
        ).all()
        return [_instance(*r) for r in rows]

    def instances_page(
        self,
        run_id: str,
        *,
        task: str | None = None,
        state: JobState | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[list[RunInstance], int]:
        """One page of a run's instances (one task's, in one state, when given), in the
        order they were made (experiment numbers within a fan-out), and how many match."""
        where = [FlowInstanceRow.run_id == run_id]
        if task is not None:
            where.append(FlowInstanceRow.task == task)
        if state is not None:
            where.append(func.coalesce(ExperimentRow.state, FlowInstanceRow.state) == state)
        total = self.s.scalar(
            select(func.count())
            .select_from(FlowInstanceRow)
            .outerjoin(ExperimentRow, ExperimentRow.id == FlowInstanceRow.experiment_id)
            .where(*where)
        )
        rows = self.s.execute(
            _INSTANCES.where(*where)
            .order_by(FlowInstanceRow.created_at, ExperimentRow.number, FlowInstanceRow.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return [_instance(*r) for r in rows], total or 0

    def run_counts(self, flow_ids: Sequence[str]) -> dict[str, int]:
        rows = self.s.execute(
            select(FlowRunRow.flow_id, func.count())
            .where(FlowRunRow.flow_id.in_(list(flow_ids)))
            .group_by(FlowRunRow.flow_id)
        ).all()
        return {r[0]: int(r[1]) for r in rows}

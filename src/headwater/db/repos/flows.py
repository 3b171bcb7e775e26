"""Flows, their versions, runs, the runs' tasks and instances, and triggers."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from headwater.db.tables import (
    EndpointRow,
    ExperimentRow,
    FlowInstanceRow,
    FlowRow,
    FlowRunRow,
    FlowTaskRow,
    FlowTriggerRow,
    FlowVersionRow,
    UserRow,
)
from headwater.domain.errors import NotFound
from headwater.domain.flowruns import (
    FlowRecord,
    FlowRun,
    FlowVersion,
    RunInstance,
    RunState,
    RunTask,
    TaskState,
    Trigger,
    check_run_move,
    check_task_move,
)
from headwater.domain.ids import new_id

ACTIVE_RUNS = (RunState.RUNNING, RunState.PENDING_APPROVAL)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _flow(row: FlowRow) -> FlowRecord:
    return FlowRecord(
        id=row.id,
        project_id=row.project_id,
        name=row.name,
        latest_version=row.latest_version,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        schedule_state=dict(row.schedule_state or {}),
    )


def _version(row: FlowVersionRow) -> FlowVersion:
    return FlowVersion(
        row.flow_id, row.number, row.yaml, row.digest, row.tasks, row.created_by, row.created_at
    )


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
    )


def _task(row: FlowTaskRow) -> RunTask:
    return RunTask(row.run_id, row.title, row.state, row.reason, row.approved, row.decided_by)


def _trigger(row: FlowTriggerRow) -> Trigger:
    return Trigger(
        id=row.id,
        flow_id=row.flow_id,
        kind=row.kind,
        dataset=row.dataset,
        seen_commit=row.seen_commit,
        token_hash=row.token_hash,
        created_by=row.created_by,
        created_at=row.created_at,
        last_fired_at=row.last_fired_at,
    )


class FlowRepo:
    def __init__(self, session: Session) -> None:
        self.s = session
        self._usernames: dict[str, str] = {}

    def _who(self, user_id: str) -> str:
        """A run shows who started it by username; one lookup per user per transaction."""
        if user_id not in self._usernames:
            name = self.s.scalar(select(UserRow.username).where(UserRow.id == user_id))
            self._usernames[user_id] = name or user_id
        return self._usernames[user_id]

    # -- flows and versions ----------------------------------------------------------------

    def _flow_row(self, project_id: str, name: str) -> FlowRow:
        row = self.s.scalar(
            select(FlowRow).where(FlowRow.project_id == project_id, FlowRow.name == name)
        )
        if row is None:
            raise NotFound(
                f"no flow named {name!r} in this project",
                where="flow",
                hint="List flows with `hw flow list`; import one with `hw flow import --file F`.",
            )
        return row

    def get(self, project_id: str, name: str) -> FlowRecord:
        return _flow(self._flow_row(project_id, name))

    def by_id(self, flow_id: str) -> FlowRecord:
        row = self.s.get(FlowRow, flow_id)
        if row is None:
            raise NotFound(f"no flow {flow_id!r}", where="flow", hint="List flows.")
        return _flow(row)

    def save_version(
        self, project_id: str, name: str, yaml: str, tasks: int, *, user_id: str, username: str
    ) -> tuple[FlowRecord, FlowVersion, bool]:
        """The flow's version holding ``yaml``: a new one unless it equals the latest."""
        now = datetime.now(UTC)
        row = self.s.scalar(
            select(FlowRow)
            .where(FlowRow.project_id == project_id, FlowRow.name == name)
            .with_for_update()
        )
        hashed = digest(yaml)
        if row is None:
            row = FlowRow(
                id=new_id(),
                project_id=project_id,
                name=name,
                latest_version=0,
                created_by=user_id,
                created_at=now,
                updated_at=now,
                schedule_state={},
            )
            self.s.add(row)
            self.s.flush()
        else:
            latest = self.s.get(FlowVersionRow, (row.id, row.latest_version))
            if latest is not None and latest.digest == hashed:
                return _flow(row), _version(latest), False
        number = row.latest_version + 1
        version = FlowVersionRow(
            flow_id=row.id,
            number=number,
            yaml=yaml,
            digest=hashed,
            tasks=tasks,
            created_by=username,
            created_at=now,
        )
        self.s.add(version)
        row.latest_version = number
        row.updated_at = now
        self.s.flush()
        return _flow(row), _version(version), True

    def page(self, project_id: str, *, offset: int, limit: int) -> tuple[list[FlowRecord], int]:
        where = FlowRow.project_id == project_id
        total = self.s.scalar(select(func.count()).select_from(FlowRow).where(where)) or 0
        rows = self.s.scalars(
            select(FlowRow).where(where).order_by(FlowRow.name).offset(offset).limit(limit)
        ).all()
        return [_flow(r) for r in rows], total

    def all_flows(self) -> list[FlowRecord]:
        return [_flow(r) for r in self.s.scalars(select(FlowRow)).all()]

    def run_counts(self, flow_ids: Sequence[str]) -> dict[str, int]:
        rows = self.s.execute(
            select(FlowRunRow.flow_id, func.count())
            .where(FlowRunRow.flow_id.in_(list(flow_ids)))
            .group_by(FlowRunRow.flow_id)
        ).all()
        return {r[0]: int(r[1]) for r in rows}

    def versions(self, flow_id: str) -> list[FlowVersion]:
        rows = self.s.scalars(
            select(FlowVersionRow)
            .where(FlowVersionRow.flow_id == flow_id)
            .order_by(FlowVersionRow.number)
        ).all()
        return [_version(r) for r in rows]

    def version(self, flow: FlowRecord, number: int | None = None) -> FlowVersion:
        wanted = number or flow.latest_version
        row = self.s.get(FlowVersionRow, (flow.id, wanted))
        if row is None:
            raise NotFound(
                f"flow {flow.name!r} has no version {wanted}",
                where="version",
                hint=f"Its versions are 1 to {flow.latest_version} (`hw flow versions NAME`).",
            )
        return _version(row)

    def delete(self, flow: FlowRecord) -> None:
        self.s.execute(delete(FlowRow).where(FlowRow.id == flow.id))

    def set_schedule_state(self, flow_id: str, state: dict[str, Any]) -> None:
        row = self.s.get(FlowRow, flow_id)
        if row is not None:
            row.schedule_state = dict(state)

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
        if ref.isdigit():
            row = self.s.scalar(
                select(FlowRunRow).where(
                    FlowRunRow.project_id == project_id, FlowRunRow.number == int(ref)
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
        row.updated_at = datetime.now(UTC)
        return _task(row)

    def add_instances(self, run_id: str, instances: Iterable[RunInstance]) -> None:
        now = datetime.now(UTC)
        self.s.add_all(
            FlowInstanceRow(
                id=i.id,
                run_id=run_id,
                task=i.task,
                experiment_id=i.experiment_id,
                state=i.state,
                params=dict(i.params),
                parents=list(i.parents),
                data=dict(i.data),
                created_at=i.created_at or now,
                ended_at=i.ended_at,
            )
            for i in instances
        )
        self.s.flush()

    def instances(self, run_id: str) -> list[RunInstance]:
        """Every instance of a run; exec instances carry their experiment's state and times."""
        rows = self.s.execute(
            select(
                FlowInstanceRow,
                ExperimentRow.state,
                ExperimentRow.started_at,
                ExperimentRow.ended_at,
                ExperimentRow.number,
                ExperimentRow.reason,
            )
            .outerjoin(ExperimentRow, ExperimentRow.id == FlowInstanceRow.experiment_id)
            .where(FlowInstanceRow.run_id == run_id)
            .order_by(FlowInstanceRow.created_at, FlowInstanceRow.id)
        ).all()
        out = []
        for row, state, started, ended, number, reason in rows:
            out.append(
                RunInstance(
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
            )
        return out

    # -- triggers --------------------------------------------------------------------------

    def add_trigger(
        self,
        flow: FlowRecord,
        kind: str,
        *,
        created_by: str,
        dataset: str | None = None,
        seen_commit: str | None = None,
        token_hash: str | None = None,
    ) -> Trigger:
        row = FlowTriggerRow(
            id=new_id(),
            flow_id=flow.id,
            kind=kind,
            dataset=dataset,
            seen_commit=seen_commit,
            token_hash=token_hash,
            created_by=created_by,
            created_at=datetime.now(UTC),
        )
        self.s.add(row)
        self.s.flush()
        return _trigger(row)

    def triggers(self, flow_id: str | None = None, *, kind: str | None = None) -> list[Trigger]:
        query = select(FlowTriggerRow).order_by(FlowTriggerRow.created_at)
        if flow_id is not None:
            query = query.where(FlowTriggerRow.flow_id == flow_id)
        if kind is not None:
            query = query.where(FlowTriggerRow.kind == kind)
        return [_trigger(r) for r in self.s.scalars(query).all()]

    def trigger(self, trigger_id: str) -> Trigger:
        row = self.s.get(FlowTriggerRow, trigger_id)
        if row is None:
            raise NotFound(
                f"no trigger {trigger_id!r}", where="trigger", hint="`hw flow trigger list NAME`."
            )
        return _trigger(row)

    def fired(self, trigger_id: str, *, seen_commit: str | None = None) -> None:
        row = self.s.get(FlowTriggerRow, trigger_id)
        if row is not None:
            row.last_fired_at = datetime.now(UTC)
            if seen_commit is not None:
                row.seen_commit = seen_commit

    def delete_trigger(self, flow_id: str, trigger_id: str) -> None:
        row = self.s.get(FlowTriggerRow, trigger_id)
        if row is None or row.flow_id != flow_id:
            raise NotFound(
                f"this flow has no trigger {trigger_id!r}",
                where="trigger",
                hint="`hw flow trigger list NAME` shows its triggers.",
            )
        self.s.delete(row)

    # -- endpoints (defined by deploy tasks) -----------------------------------------------

    def define_endpoint(
        self, project_id: str, slug: str, definition: dict[str, Any], run_id: str
    ) -> bool:
        """Record or update an endpoint's definition; True when it is new."""
        now = datetime.now(UTC)
        row = self.s.scalar(
            select(EndpointRow).where(
                EndpointRow.project_id == project_id, EndpointRow.slug == slug
            )
        )
        if row is None:
            self.s.add(
                EndpointRow(
                    id=new_id(),
                    project_id=project_id,
                    slug=slug,
                    status="defined",
                    definition=definition,
                    flow_run_id=run_id,
                    created_at=now,
                    updated_at=now,
                )
            )
            return True
        row.definition = definition
        row.flow_run_id = run_id
        row.updated_at = now
        return False

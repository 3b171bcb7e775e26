"""Flows and their versions, and the triggers that start them."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from headwater.db.tables import (
    FlowRow,
    FlowTriggerRow,
    FlowVersionRow,
)
from headwater.domain.errors import NotFound
from headwater.domain.flowruns import (
    FlowRecord,
    FlowVersion,
    RunState,
    Trigger,
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

"""Workspaces: their rows, read back as ``domain.workspaces.Workspace``. Moves between states
go through ``move``, which applies the domain's table: a late report never revives one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from headwater.db.workspace_tables import WorkspaceRow
from headwater.domain.errors import NotFound
from headwater.domain.workspaces import (
    CullPolicy,
    Workspace,
    WorkspaceKind,
    WorkspaceState,
    can_move,
)

_ACTIVE = (WorkspaceState.STARTING.value, WorkspaceState.RUNNING.value)


def to_workspace(row: WorkspaceRow) -> Workspace:
    return Workspace(
        id=row.id,
        project_id=row.project_id,
        experiment_id=row.experiment_id,
        name=row.name,
        state=WorkspaceState(row.state),
        address=row.address,
        created_by=row.created_by,
        created_at=row.created_at,
        ready_at=row.ready_at,
        last_activity=row.last_activity,
        policy=CullPolicy(idle_seconds=row.idle_seconds, max_age_seconds=row.max_age_seconds),
        base_commit=row.base_commit,
        saved_commit=row.saved_commit,
        saved_at=row.saved_at,
        ended_at=row.ended_at,
        reason=row.reason,
        kind=WorkspaceKind(row.kind),
        follows=row.follows,
    )


class WorkspaceRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def create(
        self,
        project_id: str,
        *,
        workspace_id: str,
        experiment_id: str,
        name: str,
        token_sealed: str,
        created_by: str,
        policy: CullPolicy,
        base_commit: str | None,
        kind: WorkspaceKind = WorkspaceKind.JUPYTER,
        follows: str | None = None,
    ) -> Workspace:
        row = WorkspaceRow(
            id=workspace_id,
            project_id=project_id,
            experiment_id=experiment_id,
            name=name,
            state=WorkspaceState.STARTING.value,
            token_sealed=token_sealed,
            created_by=created_by,
            idle_seconds=policy.idle_seconds,
            max_age_seconds=policy.max_age_seconds,
            base_commit=base_commit,
            kind=kind.value,
            follows=follows,
            created_at=datetime.now(UTC),
            last_activity=datetime.now(UTC),
        )
        self.s.add(row)
        self.s.flush()
        return to_workspace(row)

    def _row(self, project_id: str | None, workspace_id: str) -> WorkspaceRow:
        row = self.s.get(WorkspaceRow, workspace_id)
        if row is None or (project_id is not None and row.project_id != project_id):
            raise NotFound(
                f"no workspace {workspace_id!r} in this project",
                where="workspace",
                hint="List the project's workspaces with GET .../workspaces.",
            )
        return row

    def get(self, project_id: str | None, workspace_id: str) -> Workspace:
        return to_workspace(self._row(project_id, workspace_id))

    def sealed_token(self, workspace_id: str) -> str:
        return self._row(None, workspace_id).token_sealed

    def of_experiment(self, experiment_id: str) -> Workspace | None:
        row = self.s.scalar(select(WorkspaceRow).where(WorkspaceRow.experiment_id == experiment_id))
        return to_workspace(row) if row else None

    def following(self, experiment_id: str) -> Workspace | None:
        """The newest TensorBoard that follows ``experiment_id`` (started with it), if any."""
        row = self.s.scalar(
            select(WorkspaceRow)
            .where(WorkspaceRow.follows == experiment_id)
            .order_by(WorkspaceRow.created_at.desc())
            .limit(1)
        )
        return to_workspace(row) if row else None

    def followed(self) -> set[str]:
        """Every experiment some TensorBoard follows or followed (one per experiment)."""
        return set(
            self.s.scalars(select(WorkspaceRow.follows).where(WorkspaceRow.follows.is_not(None)))
        )

    def of_project(
        self,
        project_id: str,
        *,
        active_only: bool = False,
        kind: WorkspaceKind | None = None,
    ) -> list[Workspace]:
        query = select(WorkspaceRow).where(WorkspaceRow.project_id == project_id)
        if kind is not None:
            query = query.where(WorkspaceRow.kind == kind.value)
        if active_only:
            query = query.where(WorkspaceRow.state.in_(_ACTIVE))
        rows = self.s.scalars(query.order_by(WorkspaceRow.created_at.desc())).all()
        return [to_workspace(r) for r in rows]

    def not_ended(self) -> list[Workspace]:
        """Every workspace the culler and the reaper look at, across projects."""
        live = (*_ACTIVE, WorkspaceState.STOPPING.value)
        rows = self.s.scalars(select(WorkspaceRow).where(WorkspaceRow.state.in_(live))).all()
        return [to_workspace(r) for r in rows]

    def move(self, workspace_id: str, state: WorkspaceState, **fields: Any) -> bool:
        """Move to ``state`` (with ``fields``) when the table allows it; False otherwise."""
        row = self._row(None, workspace_id)
        if not can_move(WorkspaceState(row.state), state):
            return False
        row.state = state.value
        if state.ended:
            row.ended_at = datetime.now(UTC)
        for key, value in fields.items():
            setattr(row, key, value)
        return True

    def ready(self, experiment_id: str, address: str) -> bool:
        """Its JupyterLab answers at ``address``: routed to from now on (the idle clock starts
        now). False when it was stopped meanwhile."""
        row = self.s.scalar(select(WorkspaceRow).where(WorkspaceRow.experiment_id == experiment_id))
        if row is None:
            return False
        now = datetime.now(UTC)
        return self.move(
            row.id, WorkspaceState.RUNNING, address=address, ready_at=now, last_activity=now
        )

    def update(self, workspace_id: str, **fields: Any) -> None:
        row = self._row(None, workspace_id)
        for key, value in fields.items():
            setattr(row, key, value)

    def touch(self, seen: Mapping[str, datetime]) -> None:
        """Record the proxy's batched activity: one UPDATE per workspace, never backwards."""
        for workspace_id, at in seen.items():
            self.s.execute(
                update(WorkspaceRow)
                .where(WorkspaceRow.id == workspace_id, WorkspaceRow.last_activity < at)
                .values(last_activity=at)
            )

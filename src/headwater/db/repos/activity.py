"""A project's activity feed: what happened, who did it, when."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from headwater.db.tables import ActivityRow
from headwater.domain.entities import Activity, ActivityKind


class ActivityRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def record(
        self,
        project_id: str,
        actor: str,
        kind: ActivityKind,
        message: str,
        data: dict[str, Any] | None = None,
    ) -> None:
        self.s.add(
            ActivityRow(
                project_id=project_id,
                actor=actor,
                kind=kind,
                message=message,
                data=data or {},
                at=datetime.now(UTC),
            )
        )

    def recent(
        self, project_id: str, *, limit: int = 50, before: int | None = None
    ) -> list[Activity]:
        query = select(ActivityRow).where(ActivityRow.project_id == project_id)
        if before is not None:
            query = query.where(ActivityRow.id < before)
        rows = self.s.scalars(query.order_by(ActivityRow.id.desc()).limit(limit)).all()
        return [
            Activity(
                id=r.id,
                project_id=r.project_id,
                actor=r.actor,
                kind=r.kind,
                message=r.message,
                at=r.at,
                data=r.data,
            )
            for r in rows
        ]

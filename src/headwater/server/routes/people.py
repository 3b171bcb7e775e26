"""Names behind the user ids that listings carry ("created by"), for the UI."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select, union

from headwater.db.tables import ExperimentRow, FlowRow, FlowRunRow, MemberRow, UserRow
from headwater.schemas.monitoring import PersonOut
from headwater.server.deps import PlatformDep, ViewAccess

router = APIRouter(prefix="/projects/{project_id}/people", tags=["members"])

MAX_IDS = 100


@router.get("", response_model=list[PersonOut])
def list_people(
    access: ViewAccess,
    platform: PlatformDep,
    id: Annotated[list[str], Query(max_length=MAX_IDS)],
) -> list[PersonOut]:
    """Usernames of those ids that belong to the project (owner, members, creators of its jobs)."""
    pid = access.project.id
    ids = {i for i in id if len(i) <= 64}
    if not ids:
        return []
    belonging = union(
        select(MemberRow.user_id).where(MemberRow.project_id == pid, MemberRow.user_id.in_(ids)),
        *(
            select(t.created_by).where(t.project_id == pid, t.created_by.in_(ids))
            for t in (ExperimentRow, FlowRow, FlowRunRow)
        ),
    ).subquery()
    with platform.db.read() as session:
        rows = session.execute(
            select(UserRow.id, UserRow.username)
            .where(UserRow.id.in_(ids))
            .where((UserRow.id == access.project.owner_id) | UserRow.id.in_(select(belonging.c[0])))
            .order_by(UserRow.username)
        ).all()
    return [PersonOut(id=uid, username=name) for uid, name in rows]

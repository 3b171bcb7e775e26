"""The Monitoring page (seed 004): unfinished jobs with who, what, since when and on which
compute template; usage per template now and over the last hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import case, select

from headwater.db.repos.compute import ComputeRepo
from headwater.db.tables import ExperimentRow, ProjectRow, UserRow
from headwater.domain.compute import ComputeTemplate
from headwater.domain.jobs import JobState
from headwater.domain.usage import compute_of, per_compute
from headwater.schemas.experiments import ResourcesOut
from headwater.schemas.monitoring import (
    ComputeUsageOut,
    MonitorJobOut,
    MonitorJobsOut,
    UsageHistoryOut,
    UsageSampleOut,
)
from headwater.server.deps import CurrentUser, PlatformDep
from headwater.server.usage import UNFINISHED, current_usage, projects_of, sample_now
from headwater.server.usage import visible_projects as visible_of

router = APIRouter(prefix="/monitor", tags=["compute"])

COMMAND_CHARS = 200


@router.get("/jobs", response_model=MonitorJobsOut)
def monitor_jobs(
    user: CurrentUser,
    platform: PlatformDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> MonitorJobsOut:
    """Unfinished jobs the caller may see (running first) and usage per compute template."""
    with platform.db.read() as session:
        usage = current_usage(session)
        visible = visible_of(session, user, projects_of(usage))
        templates = ComputeRepo(session).all()
        running_first = case((ExperimentRow.state == JobState.RUNNING, 0), else_=1)
        query = (
            select(ExperimentRow, ProjectRow.name, UserRow.username)
            .join(ProjectRow, ProjectRow.id == ExperimentRow.project_id)
            .join(UserRow, UserRow.id == ExperimentRow.created_by)
            .where(ExperimentRow.state.in_(UNFINISHED))
            .order_by(running_first, ExperimentRow.created_at, ExperimentRow.id)
            .limit(limit)
        )
        if visible is not None:
            query = query.where(ExperimentRow.project_id.in_(visible))
        rows = session.execute(query).all()
    computes = per_compute(usage, visible)
    return MonitorJobsOut(
        items=[
            MonitorJobOut(
                id=row.id,
                project_id=row.project_id,
                project_name=project_name,
                number=row.number,
                title=row.title,
                command=row.command[:COMMAND_CHARS],
                state=row.state,
                compute=compute_of(row.compute, row.computes or ()),
                created_by=row.created_by,
                created_by_name=username,
                since=(row.started_at if row.state is JobState.RUNNING else None) or row.created_at,
            )
            for row, project_name, username in rows
        ],
        total=sum(u.active + u.pending for u in computes.values()),
        computes={
            name: ComputeUsageOut(
                active_jobs=u.active,
                pending_jobs=u.pending,
                assigned=ResourcesOut(cpus=u.cpus, memory_mb=u.memory_mb, gpus=u.gpus),
                template=_resources(templates[name]) if name in templates else None,
            )
            for name, u in sorted(computes.items())
        },
    )


@router.get("/history", response_model=UsageHistoryOut)
def monitor_history(
    user: CurrentUser,
    platform: PlatformDep,
    minutes: Annotated[int, Query(ge=1, le=1440)] = 60,
) -> UsageHistoryOut:
    """Compute held per template over the last ``minutes``, sampled every few seconds."""
    history = platform.usage
    sample_now(platform.db, history)  # no older than one interval, whoever else samples
    samples = history.since(datetime.now(UTC) - timedelta(minutes=minutes))
    with platform.db.read() as session:
        seen = set().union(*(projects_of(s.usage) for s in samples)) if samples else set()
        visible = visible_of(session, user, seen)
    total = platform.engine.executor.capacity()
    return UsageHistoryOut(
        interval_seconds=history.interval.total_seconds(),
        retention_minutes=int(history.retention.total_seconds() // 60),
        total=ResourcesOut(cpus=total.cpus, memory_mb=total.memory_mb, gpus=total.gpus),
        samples=[
            UsageSampleOut(
                at=s.at,
                computes={
                    name: ResourcesOut(cpus=u.cpus, memory_mb=u.memory_mb, gpus=u.gpus)
                    for name, u in sorted(per_compute(s.usage, visible).items())
                },
            )
            for s in samples
        ],
    )


def _resources(template: ComputeTemplate) -> ResourcesOut:
    r = template.resources
    return ResourcesOut(cpus=r.cpus, memory_mb=r.memory_mb, gpus=r.gpus)

"""Compute templates and the monitoring view (seed 004): jobs, compute and storage."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from fastapi import APIRouter, Response
from sqlalchemy import select

from headwater.db.repos.compute import ComputeRepo
from headwater.db.repos.projects import project_for
from headwater.db.tables import ExperimentRow
from headwater.domain.access import Permission, allows
from headwater.domain.compute import ComputeTemplate
from headwater.domain.errors import PermissionDenied
from headwater.domain.jobs import JobState
from headwater.schemas.experiments import (
    ComputeTemplateIn,
    ComputeTemplateOut,
    MonitorOut,
    MonitorScope,
    ResourcesOut,
)
from headwater.server.deps import CurrentUser, PlatformDep

router = APIRouter(tags=["compute"])

_storage_cache: dict[Path, tuple[float, int]] = {}


def _template_out(t: ComputeTemplate) -> ComputeTemplateOut:
    r = t.resources
    return ComputeTemplateOut(
        name=t.name,
        cpus=r.cpus,
        memory_mb=r.memory_mb,
        gpus=r.gpus,
        custom_resources=dict(r.custom),
        owner=t.owner_id,
    )


@router.get("/compute", response_model=list[ComputeTemplateOut])
def list_compute(user: CurrentUser, platform: PlatformDep) -> list[ComputeTemplateOut]:
    with platform.db.read() as session:
        templates = ComputeRepo(session).all()
    return [
        _template_out(t)
        for t in templates.values()
        if t.owner_id is None or t.owner_id == user.id or user.is_admin
    ]


@router.post("/compute", response_model=ComputeTemplateOut, status_code=201)
def create_compute(
    body: ComputeTemplateIn, user: CurrentUser, platform: PlatformDep
) -> ComputeTemplateOut:
    if not body.owned and not user.is_admin:
        raise PermissionDenied(
            "only an admin may add a compute template shared with everyone",
            where="owned",
            hint="Add it as your own with `--owned` (owned: true).",
        )
    with platform.db.write() as session:
        template = ComputeRepo(session).create(
            body.name,
            body.cpus,
            body.memory_mb,
            body.gpus,
            user.id if body.owned else None,
            body.custom_resources,
        )
    platform.engine.wake()
    return _template_out(template)


@router.delete("/compute/{name}", status_code=204)
def delete_compute(name: str, user: CurrentUser, platform: PlatformDep) -> Response:
    with platform.db.write() as session:
        repo = ComputeRepo(session)
        template = repo.all().get(name)
        if template is not None and not user.is_admin and template.owner_id != user.id:
            raise PermissionDenied(
                f"compute template {name!r} is not yours",
                where="name",
                hint="Only its owner or an admin may delete it.",
            )
        repo.delete(name)
    return Response(status_code=204)


def _storage_used(root: Path, *, max_age: float = 30.0) -> int:
    """Bytes under the object store; walked at most every ``max_age`` seconds."""
    cached = _storage_cache.get(root)
    if cached is not None and time.monotonic() - cached[0] < max_age:
        return cached[1]
    total = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            try:
                total += os.stat(os.path.join(folder, name)).st_size
            except OSError:
                continue
    _storage_cache[root] = (time.monotonic(), total)
    return total


def _scope(active: int, pending: int, cpus: float, memory: int, gpus: int) -> MonitorScope:
    return MonitorScope(
        active_jobs=active,
        pending_jobs=pending,
        assigned=ResourcesOut(cpus=cpus, memory_mb=memory, gpus=gpus),
    )


@router.get("/monitor", response_model=MonitorOut)
def monitor(user: CurrentUser, platform: PlatformDep) -> MonitorOut:
    """Active jobs run; pending ones are queued or initializing. Assigned compute is what
    initializing and running jobs hold. Members see the projects they can see."""
    counts: dict[str, dict[str, float]] = {}
    with platform.db.read() as session:
        rows = session.execute(
            select(ExperimentRow.project_id, ExperimentRow.state, ExperimentRow.resources).where(
                ExperimentRow.state.in_([JobState.QUEUED, JobState.INITIALIZING, JobState.RUNNING])
            )
        ).all()
        seen = {pid for pid, _, _ in rows}
        visible = {
            pid
            for pid in seen
            if user.is_admin or allows(project_for(session, pid, user)[1], Permission.JOBS_READ)
        }
    for pid, state, resources in rows:
        if pid not in visible:
            continue
        c = counts.setdefault(pid, dict.fromkeys(("active", "pending", "cpus", "mem", "gpus"), 0))
        if state is JobState.RUNNING:
            c["active"] += 1
        else:
            c["pending"] += 1
        if state in (JobState.INITIALIZING, JobState.RUNNING):
            c["cpus"] += float(resources.get("cpus", 0))
            c["mem"] += int(resources.get("memory_mb", 0))
            c["gpus"] += int(resources.get("gpus", 0))
    projects = {
        pid: _scope(int(c["active"]), int(c["pending"]), c["cpus"], int(c["mem"]), int(c["gpus"]))
        for pid, c in counts.items()
    }
    total = platform.engine.executor.capacity()
    home = platform.settings.home
    return MonitorOut(
        overall=_scope(
            sum(p.active_jobs for p in projects.values()),
            sum(p.pending_jobs for p in projects.values()),
            sum(p.assigned.cpus for p in projects.values()),
            sum(p.assigned.memory_mb for p in projects.values()),
            sum(p.assigned.gpus for p in projects.values()),
        ),
        total=ResourcesOut(cpus=total.cpus, memory_mb=total.memory_mb, gpus=total.gpus),
        storage_used_bytes=_storage_used(home / "objects"),
        storage_total_bytes=shutil.disk_usage(home).total,
        projects=projects,
    )

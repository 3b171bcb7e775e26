"""The Monitoring page's API (seed 004): unfinished jobs, usage per compute template and its
history; and the names behind user ids ("created by")."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from headwater.domain.jobs import JobState
from headwater.schemas.common import Schema
from headwater.schemas.experiments import ResourcesOut


class MonitorJobOut(Schema):
    """One unfinished job: who, what, since when, on which compute template."""

    id: str
    project_id: str
    project_name: str
    number: int
    title: str
    command: str = Field(description="Cut to 200 characters")
    state: JobState
    compute: str = Field(description="The template it runs on, or (waiting) its first choice")
    created_by: str
    created_by_name: str
    since: datetime = Field(description="Started (running) or created (waiting)")


class ComputeUsageOut(Schema):
    """What the jobs on one compute template hold now, and the template's own size."""

    active_jobs: int
    pending_jobs: int
    assigned: ResourcesOut
    template: ResourcesOut | None = Field(description="None: no template of that name is known")


class MonitorJobsOut(Schema):
    items: list[MonitorJobOut] = Field(description="Running first, then waiting; oldest first")
    total: int = Field(description="Unfinished jobs the caller may see (items stop at limit)")
    computes: dict[str, ComputeUsageOut]


class UsageSampleOut(Schema):
    at: datetime
    computes: dict[str, ResourcesOut] = Field(description="Held per compute template")


class UsageHistoryOut(Schema):
    """Assigned compute over time, in memory: a restart starts the history again."""

    interval_seconds: float
    retention_minutes: int
    total: ResourcesOut = Field(description="What the executor can run at once")
    samples: list[UsageSampleOut]


class PersonOut(Schema):
    id: str
    username: str

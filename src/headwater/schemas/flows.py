"""Flows over HTTP (seed 002): flows and their versions, runs ("bakes"), approvals, triggers.

A flow is named by its ``flow:`` title within a project; every import that changes the file
makes a version (1, 2, ...). A run is numbered within the project; its tasks hold instances,
and each instance of an exec task is an experiment (so logs, metrics and artifacts are the
experiments API's).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from headwater.domain.flowruns import RunState, TaskState
from headwater.domain.ids import MAX_NUMBER
from headwater.domain.jobs import JobState
from headwater.schemas.common import Model, Schema

MAX_FLOW_BYTES = 1024 * 1024
MAX_REFRESH = 200  # --refresh TASK...: a flow has fewer tasks than this in practice


class FlowImport(Model):
    """A flow file as text; ``file_name`` is only for error messages (``FILE:LINE key``)."""

    yaml: str = Field(min_length=1, max_length=MAX_FLOW_BYTES)
    file_name: str = Field("flow.yaml", max_length=255)


class FlowVersionOut(Schema):
    flow: str
    number: int
    created_by: str
    created_at: datetime
    tasks: int
    yaml: str | None = Field(None, description="The file; only when one version is asked for")


class FlowOut(Schema):
    id: str
    name: str
    latest_version: int
    created_at: datetime
    updated_at: datetime
    schedule: str | None = Field(None, description="The latest version's schedule:")
    recurring: str | None = Field(None, description="The latest version's recurring:")
    next_run_at: datetime | None = None
    runs: int = 0
    created: bool = Field(False, description="This import made a new version")


ParamOverrides = dict[str, dict[str, list[str]]]  # task title -> param key -> values


class FlowRunCreate(Model):
    version: int | None = Field(None, ge=1, le=MAX_NUMBER, description="Default: the latest")
    only: str | None = Field(None, max_length=200, description="Run just this task, for debugging")
    inputs_from: str | None = Field(
        None,
        max_length=32,
        description="With only: take its parents' instances from this earlier run (number or id)",
    )
    params: ParamOverrides = Field(
        default_factory=dict,
        description="Replace task params; the changed flow is saved as a new version first",
    )
    no_cache: bool = Field(False, description="Run every task; reuse no earlier result")
    refresh: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list,
        max_length=MAX_REFRESH,
        description="Run these tasks again whatever the step cache holds",
    )


class FlowRestart(Model):
    """A new run of a stopped or failed one that keeps every task that already succeeded and
    whose definition (and every ancestor's) is unchanged."""

    version: int | None = Field(
        None, ge=1, le=MAX_NUMBER, description="Default: the run's own version"
    )
    params: ParamOverrides = Field(default_factory=dict)
    from_failed: bool = Field(
        False,
        description="Reuse every success of the run (tasks and instances), whatever changed "
        "and whatever the step cache says; run only what failed or never ran",
    )


class CacheCleared(Schema):
    flow: str
    task: str | None = None
    cleared: int = Field(description="How many stored results were forgotten")


class CacheNote(Schema):
    """The step cache's word on one instance: where a hit came from, or why it missed."""

    hit: bool
    kept: bool = Field(False, description="Reused by a restart --from-failed")
    why: str | None = Field(None, description="A miss: why it was not cached")
    key: str | None = None
    parts: dict[str, str] = Field(default_factory=dict, description="Part -> digest")
    from_run: int | None = Field(None, description="A hit: the run that computed it")
    experiment_id: str | None = None
    experiment_number: int | None = None


class Decision(Model):
    comment: str = Field("", max_length=2000)


class InstanceOut(Schema):
    id: str
    task: str = Field("", description="The task it is an instance of")
    experiment_id: str | None = Field(None, description="Exec tasks: the experiment it is")
    experiment_number: int | None = None
    status: JobState
    reason: str | None = None
    params: dict[str, str]
    tags: dict[str, str]
    parents: list[str] = Field(description="Parent instance ids on its route")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    cache: CacheNote | None = Field(None, description="Exec tasks: hit (state cached) or miss")

    @property
    def shown_status(self) -> str:
        """``cached`` for a hit (a success that ran nothing), else the status."""
        return "cached" if self.cache is not None and self.cache.hit else str(self.status)


class RunTaskOut(Schema):
    title: str
    type: Literal["data", "exec", "deploy"]
    status: TaskState
    reason: str | None = None
    approvers: list[str] = Field(default_factory=list)
    decided_by: str | None = None
    decision: Literal["approved", "rejected"] | None = Field(
        None, description="How the approver decided; none while undecided or not gated"
    )
    comment: str | None = Field(None, description="What the approver said with their decision")
    counts: dict[str, int] = Field(
        default_factory=dict, description="Its instances by status, e.g. {success: 3}"
    )
    total: int = Field(0, description="Its instances in all (the sum of counts)")
    instances: list[InstanceOut] = Field(
        default_factory=list,
        description="The first instance_limit of them (page the rest with .../instances); "
        "empty when inspected with instances=false",
    )


class RelationOut(Schema):
    source: str = Field(alias="from", serialization_alias="from")
    to: str

    model_config = {"populate_by_name": True}


class FlowRunOut(Schema):
    id: str
    number: int
    project_id: str
    flow: str
    version: int
    status: RunState
    trigger: str = Field(description="manual, schedule, recurring, dataset:NAME, webhook, ...")
    reason: str | None = None
    only: str | None = None
    restart_of: int | None = None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    tasks: list[RunTaskOut] = Field(default_factory=list, description="Only when inspected")
    relations: list[RelationOut] = Field(default_factory=list, description="Only when inspected")


class TriggerCreate(Model):
    kind: Literal["dataset", "webhook"]
    dataset: str | None = Field(None, max_length=100, description="kind dataset: its name")


class TriggerOut(Schema):
    id: str
    flow: str
    kind: Literal["dataset", "webhook"]
    dataset: str | None = None
    created_at: datetime
    last_fired_at: datetime | None = None
    url: str | None = Field(None, description="webhook: POST here to start a run")
    token: str | None = Field(None, description="webhook: shown once, when created")

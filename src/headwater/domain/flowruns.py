"""States of a flow run and of its tasks, and how a run's state follows from its tasks'.

A task waits for its parents, may wait for a person (pending approval), then runs its
instances; it ends when they all have. A run is what its tasks are: pending approval while
one waits for a person, failed when one failed, and so on. Both are enums with a transition
table, like jobs (``domain/jobs.py``), so a late or repeated decision cannot undo an ending.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from headwater.domain.errors import Conflict
from headwater.domain.jobs import JobState


class TaskState(StrEnum):
    WAITING = "waiting"  # for its parents (or, once approved, for its next pass)
    PENDING_APPROVAL = "pending_approval"
    RUNNING = "running"  # its instances exist and some have not ended
    SUCCESS = "success"
    FAILED = "failed"
    SKIPPED = "skipped"  # no route reached it: a parent failed, a condition kept nothing
    ABORTED = "aborted"  # stopped, or rejected

    @property
    def terminal(self) -> bool:
        return self in _TASK_ENDS


class RunState(StrEnum):
    RUNNING = "running"
    PENDING_APPROVAL = "pending_approval"
    SUCCESS = "success"
    FAILED = "failed"
    ABORTED = "aborted"

    @property
    def terminal(self) -> bool:
        return self in (RunState.SUCCESS, RunState.FAILED, RunState.ABORTED)


_TASK_ENDS = frozenset({TaskState.SUCCESS, TaskState.FAILED, TaskState.SKIPPED, TaskState.ABORTED})
_ANY_END = frozenset({TaskState.SKIPPED, TaskState.ABORTED})

TASK_TRANSITIONS: dict[TaskState, frozenset[TaskState]] = {
    TaskState.WAITING: frozenset({TaskState.PENDING_APPROVAL, TaskState.RUNNING, *_TASK_ENDS}),
    # approved: back to waiting for the pass that starts it; rejected: aborted
    TaskState.PENDING_APPROVAL: frozenset({TaskState.WAITING, *_ANY_END}),
    TaskState.RUNNING: frozenset({TaskState.SUCCESS, TaskState.FAILED, TaskState.ABORTED}),
    TaskState.SUCCESS: frozenset(),
    TaskState.FAILED: frozenset(),
    TaskState.SKIPPED: frozenset(),
    TaskState.ABORTED: frozenset(),
}

RUN_TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    RunState.RUNNING: frozenset(
        {RunState.PENDING_APPROVAL, RunState.SUCCESS, RunState.FAILED, RunState.ABORTED}
    ),
    RunState.PENDING_APPROVAL: frozenset({RunState.RUNNING, RunState.FAILED, RunState.ABORTED}),
    RunState.SUCCESS: frozenset(),
    RunState.FAILED: frozenset(),
    RunState.ABORTED: frozenset(),
}


def check_task_move(current: TaskState, target: TaskState, *, where: str) -> None:
    if target not in TASK_TRANSITIONS[current]:
        allowed = ", ".join(sorted(TASK_TRANSITIONS[current])) or "none: it has ended"
        raise Conflict(
            f"task cannot move from {current.value} to {target.value}",
            where=where,
            hint=f"From {current.value} a task may move to: {allowed}.",
        )


def check_run_move(current: RunState, target: RunState, *, where: str) -> None:
    if target not in RUN_TRANSITIONS[current]:
        raise Conflict(
            f"the run is {current.value}; it cannot become {target.value}",
            where=where,
            hint="A run that ended stays as it ended; restart it for a new run.",
        )


def task_outcome(states: Iterable[JobState]) -> TaskState | None:
    """A running task's state once its instances are all done (None: some still go on).

    One failed instance fails the task, and so skips what depends on it: a route that
    crashed has no artifacts to hand on, and silently going on with the rest would hide it.
    """
    seen = list(states)
    if any(not s.terminal for s in seen):
        return None
    if any(s is JobState.FAILED for s in seen):
        return TaskState.FAILED
    if any(s is JobState.ABORTED for s in seen):
        return TaskState.ABORTED
    return TaskState.SUCCESS


def run_outcome(states: Iterable[TaskState]) -> RunState:
    """What a run is, given its tasks: ended once every task has."""
    seen = list(states)
    if not all(s.terminal for s in seen):
        waiting = any(s is TaskState.PENDING_APPROVAL for s in seen)
        return RunState.PENDING_APPROVAL if waiting else RunState.RUNNING
    if any(s is TaskState.ABORTED for s in seen):
        return RunState.ABORTED
    if any(s is TaskState.FAILED for s in seen):
        return RunState.FAILED
    return RunState.SUCCESS


@dataclass(frozen=True)
class FlowRecord:
    """A flow as stored: its name (the file's ``flow:``) and how many versions it has."""

    id: str
    project_id: str
    name: str
    latest_version: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    schedule_state: dict[str, Any]


@dataclass(frozen=True)
class FlowVersion:
    flow_id: str
    number: int
    yaml: str
    digest: str
    tasks: int
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class FlowRun:
    """One run of one version of a flow (a "bake")."""

    id: str
    project_id: str
    flow_id: str
    flow: str
    version: int
    number: int
    state: RunState
    trigger: str
    reason: str | None
    only: str | None
    restart_of: int | None
    created_by: str  # the username, for people
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    creator_id: str = ""  # the user id: its experiments are created as this user


@dataclass(frozen=True)
class RunTask:
    run_id: str
    title: str
    state: TaskState
    reason: str | None
    approved: bool
    decided_by: str | None
    comment: str | None = None  # what the approver said when approving or rejecting


@dataclass(frozen=True)
class RunInstance:
    """One instance of a task in a run: an experiment for exec tasks, a resolved dataset
    commit for data tasks, an endpoint definition for deploy tasks."""

    id: str
    run_id: str
    task: str
    experiment_id: str | None
    state: JobState  # data and deploy instances; exec ones take their experiment's
    params: dict[str, str]
    parents: tuple[str, ...]
    data: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    ended_at: datetime | None = None
    # read from the experiment, for people: its number, why it ended, when it started
    number: int | None = None
    reason: str | None = None
    started_at: datetime | None = None


@dataclass(frozen=True)
class Trigger:
    """What starts a run by itself besides a schedule: a dataset's new version, a webhook."""

    id: str
    flow_id: str
    kind: str  # dataset | webhook
    dataset: str | None
    seen_commit: str | None
    token_hash: str | None
    created_by: str
    created_at: datetime
    last_fired_at: datetime | None

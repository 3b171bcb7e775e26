"""Job states and the only transitions between them.

Every job (an experiment, a flow task) moves through these states; the engine and the runtime
report changes and this table decides whether they are allowed, so a late or repeated report
can never bring a finished job back to life.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from headwater.domain.errors import Conflict


class JobState(StrEnum):
    PENDING_APPROVAL = "pending_approval"  # flows: waits for a person
    QUEUED = "queued"  # waits for compute
    INITIALIZING = "initializing"  # compute chosen; the runtime builds the workspace
    RUNNING = "running"  # the command runs
    SUCCESS = "success"
    FAILED = "failed"
    ABORTED = "aborted"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL

    @property
    def active(self) -> bool:
        """Holds compute: counted against the machine's resources."""
        return self in (JobState.INITIALIZING, JobState.RUNNING)


TERMINAL = frozenset({JobState.SUCCESS, JobState.FAILED, JobState.ABORTED})

TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.PENDING_APPROVAL: frozenset({JobState.QUEUED, JobState.ABORTED}),
    JobState.QUEUED: frozenset({JobState.INITIALIZING, JobState.ABORTED, JobState.FAILED}),
    # initializing -> queued: a restart (idle, stuck, lost compute) puts the job back in line
    JobState.INITIALIZING: frozenset(
        {JobState.RUNNING, JobState.QUEUED, JobState.FAILED, JobState.ABORTED, JobState.SUCCESS}
    ),
    JobState.RUNNING: frozenset(
        {JobState.SUCCESS, JobState.FAILED, JobState.ABORTED, JobState.QUEUED}
    ),
    JobState.SUCCESS: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.ABORTED: frozenset(),
}


def can_move(current: JobState, target: JobState) -> bool:
    return target in TRANSITIONS[current]


def check_move(current: JobState, target: JobState, *, where: str) -> None:
    """Raise ``Conflict`` unless ``current -> target`` is in the table."""
    if not can_move(current, target):
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none: it has ended"
        raise Conflict(
            f"cannot move from {current.value} to {target.value}",
            where=where,
            hint=f"From {current.value} a job may move to: {allowed}.",
        )


@dataclass(frozen=True)
class Experiment:
    """One run of a command with one combination of parameters."""

    id: str
    project_id: str
    number: int  # 1, 2, 3... within the project, for people
    title: str
    command: str
    params: dict[str, str]
    state: JobState
    reason: str | None
    exit_code: int | None
    computes: list[str]
    compute: str | None  # the template it got
    resources: dict[str, Any]
    start_commit: str | None
    output_commit: str | None
    output_dir: str
    options: dict[str, Any]  # requirements, prerun, notify flags, emails, restart_if_stuck...
    restarts: int
    created_by: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    last_output_at: datetime | None
    runner: dict[str, Any]  # executor name and handle (pid, pgid) of the live process
    task_token_hash: str | None = None  # the running task's own token, hashed

    @property
    def branch(self) -> str:
        """Each experiment commits its outputs on a branch of its own (seed 000)."""
        return f"experiments/{self.number}"

    @property
    def quiet_since(self) -> datetime:
        """Since when the current attempt has printed nothing: the watchdog's idle clock.

        Its last output, or its launch when that came later (``runner["launched_at"]``, set
        by the engine): an attempt is judged on its own, never on the output of the attempt
        a restart ended, nor on the time it waited in the queue."""
        launched = self.runner.get("launched_at")
        marks = [t for t in (self.last_output_at, launched_at(launched)) if t is not None]
        if marks:
            return max(marks)
        return self.started_at or self.created_at


def launched_at(value: object) -> datetime | None:
    """The launch time the engine writes into a runner (ISO 8601 with its zone), or None."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None

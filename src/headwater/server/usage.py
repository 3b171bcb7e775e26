"""Sampling compute usage for the Monitoring page: one small query per interval, into the
in-memory ``UsageHistory`` (see domain/usage.py for why memory, not a table)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from headwater.db.database import Database
from headwater.db.repos.projects import project_for
from headwater.db.tables import ExperimentRow
from headwater.domain.access import Permission, allows
from headwater.domain.entities import User
from headwater.domain.errors import NotFound
from headwater.domain.jobs import JobState
from headwater.domain.usage import Usage, UsageHistory, compute_of

log = logging.getLogger("headwater.server")

UNFINISHED = (JobState.QUEUED, JobState.INITIALIZING, JobState.RUNNING)
HOLDING = (JobState.INITIALIZING, JobState.RUNNING)  # what holds its compute's resources


def current_usage(session: Session) -> dict[tuple[str, str], Usage]:
    """What unfinished jobs hold now, per (project, compute template)."""
    rows = session.execute(
        select(
            ExperimentRow.project_id,
            ExperimentRow.state,
            ExperimentRow.compute,
            ExperimentRow.computes,
            ExperimentRow.resources,
        ).where(ExperimentRow.state.in_(UNFINISHED))
    ).all()
    out: dict[tuple[str, str], Usage] = {}
    for project_id, state, compute, computes, resources in rows:
        key = (project_id, compute_of(compute, computes or ()))
        holds = state in HOLDING
        one = Usage(
            active=int(state is JobState.RUNNING),
            pending=int(state is not JobState.RUNNING),
            cpus=float(resources.get("cpus", 0)) if holds else 0.0,
            memory_mb=int(resources.get("memory_mb", 0)) if holds else 0,
            gpus=int(resources.get("gpus", 0)) if holds else 0,
        )
        out[key] = out.get(key, Usage()) + one
    return out


def visible_projects(session: Session, user: User, project_ids: Iterable[str]) -> set[str] | None:
    """The projects among ``project_ids`` whose jobs ``user`` may see; ``None``: all (admin)."""
    if user.is_admin:
        return None
    visible: set[str] = set()
    for pid in set(project_ids):
        if not pid:
            continue
        try:
            caller = project_for(session, pid, user)[1]
        except NotFound:  # deleted meanwhile
            continue
        if allows(caller, Permission.JOBS_READ):
            visible.add(pid)
    return visible


def sample_now(db: Database, history: UsageHistory) -> bool:
    """One sample, unless the last is younger than the history's interval."""

    def take() -> dict[tuple[str, str], Usage]:
        with db.read() as session:
            return current_usage(session)

    return history.maybe_sample(datetime.now(UTC), take)


class UsageSampler:
    """A daemon thread that samples every interval, so the chart has no holes while nobody
    watches; the Monitoring routes also sample on read (bounded by the same interval)."""

    def __init__(self, db: Database, history: UsageHistory) -> None:
        self.db = db
        self.history = history
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="usage-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        seconds = self.history.interval.total_seconds()
        while not self._stop.is_set():
            try:
                sample_now(self.db, self.history)
            except Exception:  # a busy or restarting database: the next tick tries again
                log.warning("usage sample failed", exc_info=True)
            self._stop.wait(seconds)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)


def projects_of(pairs: Collection[tuple[str, str]]) -> set[str]:
    return {pid for pid, _ in pairs}

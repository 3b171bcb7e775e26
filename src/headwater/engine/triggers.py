"""Runs that start by themselves: ``schedule:`` (once), ``recurring:`` (cron), and a new
version of a dataset (seed 002: Scheduling, Continual Learning). Webhook triggers start runs
from their route; this module watches the clock and the datasets.

What a schedule already ran is kept on the flow (``schedule_state``), so a restart of the
server neither repeats a run nor runs one per tick it missed: one run, then on from it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo

from headwater.db.database import Database
from headwater.db.repos.flows import FlowRepo
from headwater.db.repos.users import UserRepo
from headwater.db.repos.versions import VersionRepo
from headwater.domain.errors import HeadwaterError
from headwater.domain.flowruns import FlowRecord
from headwater.domain.flowspec.model import Flow
from headwater.domain.schedule import once_due, recurring_due
from headwater.domain.versions import RepoKind
from headwater.engine.flows import load_flow
from headwater.engine.flowstart import start_run

log = logging.getLogger("headwater.engine.triggers")


class Triggers:
    def __init__(
        self, db: Database, *, tz: tzinfo, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.db = db
        self.tz = tz
        self.clock = clock or (lambda: datetime.now(UTC))

    def check(self) -> int:
        """Start every run that is due; returns how many started."""
        with self.db.read() as session:
            repo = FlowRepo(session)
            flows = repo.all_flows()
            datasets = repo.triggers(kind="dataset")
        started = 0
        for flow in flows:
            try:
                started += self._scheduled(flow)
            except Exception:
                log.exception("schedule of flow %s failed", flow.id)
        for trigger in datasets:
            try:
                started += self._dataset(trigger.id)
            except Exception:
                log.exception("dataset trigger %s failed", trigger.id)
        return started

    def next_run(self, flow: FlowRecord, spec: Flow) -> datetime | None:
        """When the flow's schedule next starts a run by itself; None: it will not."""
        if spec.schedule:
            done = flow.schedule_state.get("once") == spec.schedule
            return None if done else spec.scheduled_at(self.tz)
        rule = spec.recurring_rule()
        return rule.next_after(self.clock(), default_tz=self.tz) if rule is not None else None

    def _scheduled(self, flow: FlowRecord) -> int:
        """Decided on what was read; written (and a run started) only when something is due
        or the schedule's record changes: most flows have no schedule, and this runs every
        two seconds, so a pass must not take the writer's lock for each of them."""
        now = self.clock()
        with self.db.read() as session:
            spec = load_flow(FlowRepo(session), flow, flow.latest_version)
        state = dict(flow.schedule_state)
        trigger = None
        if spec.schedule:
            at = spec.scheduled_at(self.tz)
            key = spec.schedule  # a new version with the same moment does not run again
            if at is not None and once_due(at, ran=state.get("once") == key, now=now):
                state["once"], trigger = key, "schedule"
        rule = spec.recurring_rule()
        if rule is not None and trigger is None:
            key = str(rule)
            last = state.get("tick") if state.get("rule") == key else None
            since = datetime.fromisoformat(state.get("since") or flow.updated_at.isoformat())
            if state.get("rule") != key:
                state.update(rule=key, since=now.isoformat(), tick=None)
                since = now
            last_run = datetime.fromisoformat(last) if last else None
            if recurring_due(rule, last_run=last_run, since=since, now=now, default_tz=self.tz):
                state["tick"], trigger = now.isoformat(), "recurring"
        if state == flow.schedule_state and trigger is None:
            return 0
        with self.db.write() as session:
            FlowRepo(session).set_schedule_state(flow.id, state)
            if trigger is None:
                return 0
            owner = UserRepo(session).get(flow.created_by)
            start_run(session, flow, user_id=owner.id, username=owner.username, trigger=trigger)
        return 1

    def _dataset(self, trigger_id: str) -> int:
        """Like schedules: a look first, the writer's lock only for a new version."""
        with self.db.read() as session:
            repo = FlowRepo(session)
            trigger = repo.trigger(trigger_id)
            flow = repo.by_id(trigger.flow_id)
            versions = VersionRepo(session)
            try:
                dataset = versions.get(flow.project_id, RepoKind.DATASET, trigger.dataset or "")
            except HeadwaterError:
                return 0  # deleted since: nothing to watch
            head = versions.head(dataset.id)
        if head is None or head.id == trigger.seen_commit:
            return 0
        with self.db.write() as session:
            repo = FlowRepo(session)
            repo.fired(trigger.id, seen_commit=head.id)
            user = UserRepo(session).get(flow.created_by)
            start_run(
                session,
                flow,
                user_id=user.id,
                username=user.username,
                trigger=f"dataset:{trigger.dataset}@{head.id[:12]}",
            )
        return 1

"""Tell people when experiments start and end: email, Slack and webhooks, off the hot path.

Sends run on a small thread pool with their own retries, so a slow SMTP server never holds a
state change; every attempt lands in the delivery log.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from headwater.db.database import Database
from headwater.db.repos.compute import DeliveryRepo
from headwater.db.repos.experiments import ExperimentRepo
from headwater.db.repos.projects import ProjectRepo
from headwater.domain.jobs import Experiment, JobState
from headwater.engine.ports import Event, Notifier, NotifierSource, PeopleSource

log = logging.getLogger("headwater.notify")

BULK_PAGE = 200  # experiments read at a time for a bulk ending's notifications
EVENTS = {
    JobState.RUNNING: "experiment.started",
    JobState.SUCCESS: "experiment.succeeded",
    JobState.FAILED: "experiment.failed",
    JobState.ABORTED: "experiment.failed",
}


@dataclass(frozen=True)
class FlowNews:
    """What a flow's event says; the project's name and the time are added when it is sent."""

    project_id: str
    kind: str  # e.g. "flow.pending_approval"
    subject_id: str  # the run's id
    title: str
    state: str
    reason: str | None
    path: str  # the run's page, under the project's UI address
    extra: dict[str, object]
    emails: tuple[str, ...] = ()  # people to write to besides the project's channels


class Notifications:
    def __init__(
        self,
        db: Database,
        source: NotifierSource,
        public_url: str,
        people: PeopleSource | None = None,
    ) -> None:
        self.db = db
        self.source = source
        self.people = people
        self.public_url = public_url.rstrip("/")
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="headwater-notify")

    def transitioned(self, before: Experiment, after: Experiment) -> None:
        self.moved([(before, after)])

    def moved(self, moves: Sequence[tuple[Experiment, Experiment]]) -> None:
        """Successive transitions of one experiment (running, then its end, from one report),
        told in their order: one job on the pool sends them all."""
        told = [
            (after, EVENTS[after.state])
            for before, after in moves
            if after.state in EVENTS and before.state != after.state
        ]
        if told:
            self._pool.submit(self._send_each, told)

    def ended_in_bulk(self, ids: Sequence[str]) -> None:
        """Experiments one statement moved from queued to an end (a stopped run's queued
        instances): read and told on the pool, a page at a time, so the stop that moved
        thousands reads none of them itself."""
        if ids:
            self._pool.submit(self._send_ended, list(ids))

    def _send_ended(self, ids: list[str]) -> None:
        for start in range(0, len(ids), BULK_PAGE):
            with self.db.read() as session:
                ended = ExperimentRepo(session).many(ids[start : start + BULK_PAGE])
            for experiment in ended:
                kind = EVENTS.get(experiment.state)
                if kind is not None:
                    self._send_all(experiment, kind)

    def _send_each(self, told: list[tuple[Experiment, str]]) -> None:
        for experiment, kind in told:
            self._send_all(experiment, kind)

    def _event(self, experiment: Experiment, kind: str) -> Event:
        with self.db.read() as session:
            project = ProjectRepo(session).get(experiment.project_id)
        return Event(
            kind=kind,
            project_id=project.id,
            project_name=project.name,
            subject_id=experiment.id,
            title=f"experiment {experiment.number} ({experiment.command})",
            state=experiment.state.value,
            reason=experiment.reason,
            url=f"{self.public_url}/projects/{project.id}/experiments/{experiment.number}",
            occurred_at=datetime.now(UTC),
            extra={
                "number": experiment.number,
                "params": experiment.params,
                "exit_code": experiment.exit_code,
            },
        )

    def _send_all(self, experiment: Experiment, kind: str) -> None:
        try:
            notifiers = self.source(experiment, kind)
            if not notifiers:
                return
            event = self._event(experiment, kind)
        except Exception:
            log.exception("could not prepare notifications for %s", experiment.id)
            return
        for notifier in notifiers:
            self._send(notifier, experiment, event)

    def _send(self, notifier: Notifier, experiment: Experiment, event: Event) -> None:
        self._deliver(notifier, experiment.project_id, experiment.id, event)

    def _deliver(
        self, notifier: Notifier, project_id: str, experiment_id: str | None, event: Event
    ) -> None:
        try:
            delivery = notifier.send(event)
        except Exception:
            log.exception("notifier %s failed", notifier.channel)
            return
        if delivery is None:
            return  # not subscribed to this event
        with self.db.write() as session:
            DeliveryRepo(session).record(
                project_id,
                experiment_id,
                channel=delivery.channel,
                target=delivery.target,
                event=event.kind,
                ok=delivery.ok,
                attempts=delivery.attempts,
                status=str(delivery.status),
            )

    def flow_event(self, news: FlowNews) -> None:
        """A flow's event (a task waits for approval, a run ended) to webhooks and people."""
        if self.people is not None:
            self._pool.submit(self._send_flow, news)

    def _send_flow(self, news: FlowNews) -> None:
        assert self.people is not None
        try:
            notifiers = self.people.people(news.project_id, news.kind, list(news.emails))
            if not notifiers:
                return
            with self.db.read() as session:
                project = ProjectRepo(session).get(news.project_id)
            event = Event(
                kind=news.kind,
                project_id=news.project_id,
                project_name=project.name,
                subject_id=news.subject_id,
                title=news.title,
                state=news.state,
                reason=news.reason,
                url=f"{self.public_url}/projects/{news.project_id}/{news.path}",
                occurred_at=datetime.now(UTC),
                extra=news.extra,
            )
        except Exception:
            log.exception("could not prepare notifications for %s", news.subject_id)
            return
        for notifier in notifiers:
            self._deliver(notifier, news.project_id, None, event)

    def close(self) -> None:
        # A stopping server does not wait out a webhook's retries: queued sends are dropped
        # (the delivery log shows what went out).
        self._pool.shutdown(wait=False, cancel_futures=True)

"""The engine: a queue with resource accounting, the watchdog, and recovery after a restart.

One thread inside ``hw server``. It wakes when work is submitted or ends (``wake()``), and
at least every second otherwise. Only the leader (see ``leader.py``) schedules; state changes
always go through ``ExperimentRepo.move`` and its transition table, so a runtime's report and
the engine's own decision can never both win.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from headwater.db.database import Database
from headwater.db.repos.compute import ComputeRepo
from headwater.db.repos.experiments import ExperimentRepo, QueueKey, Waiting
from headwater.db.repos.settings import SettingsRepo
from headwater.db.repos.users import UserRepo
from headwater.domain.autoscale import AutoscalePolicy
from headwater.domain.compute import (
    ComputeTemplate,
    Resources,
    choose_compute,
    fits_ever,
    never_fits,
)
from headwater.domain.credentials import token_hash
from headwater.domain.errors import Conflict, HeadwaterError, NotFound
from headwater.domain.flowruns import FlowRun, RunState
from headwater.domain.flowspec import MAX_INSTANCES
from headwater.domain.jobs import Experiment, JobState
from headwater.domain.rollout import RolloutPolicy
from headwater.engine.flows import Approval, FlowDriver, approver_emails
from headwater.engine.leader import Leadership
from headwater.engine.notifications import FlowNews, Notifications
from headwater.engine.ports import (
    Executor,
    Launch,
    Liveness,
    ObjectsSource,
    TaskSpecSource,
    TreeSource,
)
from headwater.engine.serving import ServingController
from headwater.engine.triggers import Triggers

log = logging.getLogger("headwater.engine")

ACTIVE = (JobState.INITIALIZING, JobState.RUNNING)
DEFAULT_COMPUTE = "default"
QUEUE_PAGE = 64  # queued experiments read at a time: more than one pass starts
TRIGGER_SECONDS = 2.0  # schedules tick by the minute; datasets are watched this often
# The serving controller's pass runs at most this often: a pass is woken by every task's end,
# and a grid of short tasks would otherwise read every endpoint hundreds of times a second
# (a replica's end waits this much longer at most, against its seconds of start-up).
SERVING_SECONDS = 0.2


def as_resources(r: dict[str, Any]) -> Resources:
    custom = r.get("custom") or {}
    return Resources(
        float(r.get("cpus", 0)),
        int(r.get("memory_mb", 0)),
        int(r.get("gpus", 0)),
        {str(k): float(v) for k, v in custom.items()},
    )


class Engine:
    def __init__(
        self,
        db: Database,
        executor: Executor,
        *,
        server_url: Callable[[], str],
        notifications: Notifications,
        lock_file: Path,
        watch_seconds: float = 5.0,
        standby_seconds: float = 5.0,
        task_spec: TaskSpecSource | None = None,
        trees: TreeSource | None = None,
        missing_objects: ObjectsSource | None = None,
        autoscale: AutoscalePolicy | None = None,
        rollout: RolloutPolicy | None = None,
        serving: bool = True,
        replica_max_body: int | None = None,
        max_instances: int = MAX_INSTANCES,
    ) -> None:
        self.db = db
        self.task_spec = task_spec
        self.executor = executor
        self.server_url = server_url
        self.notifications = notifications
        self.leadership = Leadership(db, lock_file)
        self.watch_seconds = watch_seconds
        # How often a server that does not lead tries to: the bound on a failover's wait
        # (a leader killed drops its connection, and with it the lock, at once).
        self.standby_seconds = standby_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._recovered = False
        self._last_watch = 0.0
        self._last_triggers = 0.0
        self._last_serving = 0.0
        # The queue's place up to which queued experiments had their computes checked (they
        # exist and fit the machine): later ones are new and are checked at once; earlier
        # ones wait their turn while nothing fits (None after a start: all are checked once).
        self._checked: QueueKey | None = None
        self.flows = FlowDriver(
            db,
            stop=self.stop,
            told=self._told,
            wake=self.wake,
            approval_needed=self._approval_needed,
            run_ended=self._run_ended,
            trees=trees,
            missing=missing_objects,
            max_instances=max_instances,
        )
        self.triggers = Triggers(db, tz=datetime.now().astimezone().tzinfo or UTC)
        self.serving_on = serving
        self.serving = ServingController(
            db,
            stop=self.stop_replica,
            autoscale=autoscale,
            rollout=rollout,
            max_body=replica_max_body,
        )

    # -- life ------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Compute templates from the machine on a first start (the API lists them)."""
        with self.db.write() as session:
            ComputeRepo(session).ensure_defaults(self.executor.capacity())

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="headwater-engine", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.executor.close()
        self.notifications.close()
        self.leadership.release()

    @property
    def leading(self) -> bool:
        return self.leadership.held

    def _loop(self) -> None:
        while not self._stop.is_set():
            due = 1.0  # the next pass at the latest (a leader's)
            try:
                if self.leadership.try_acquire():
                    if not self._recovered:
                        self.recover()
                        self._recovered = True
                    self.schedule()
                    if self.flows.advance():
                        self.schedule()  # start what the runs' new tasks queued, now
                    if self.serving_on:
                        since = time.monotonic() - self._last_serving
                        if since >= SERVING_SECONDS:
                            self._last_serving = time.monotonic()
                            if self.serving.tick():
                                self.schedule()  # start the replicas it queued, now
                        else:  # skipped: the next pass comes when it is due
                            due = SERVING_SECONDS - since
                    if time.monotonic() - self._last_triggers >= TRIGGER_SECONDS:
                        self._last_triggers = time.monotonic()
                        self.triggers.check()
                    if time.monotonic() - self._last_watch >= self.watch_seconds:
                        self._last_watch = time.monotonic()
                        self.watch()
            except Exception:  # the loop must outlive any one bad pass
                log.exception("engine pass failed")
            self._wake.wait(timeout=due if self.leading else self.standby_seconds)
            self._wake.clear()

    # -- scheduling ------------------------------------------------------------------------

    def schedule(self) -> int:
        """Start every queued experiment that fits now, oldest first. Returns how many.

        The queue is read a page at a time from its head, and only while something still
        fits: a grid of 10,000 queued experiments costs a pass one page, not 10,000 rows.
        Work queued since the last pass is checked at once even on a full machine (a compute
        that does not exist fails now, not when room frees)."""
        with self.db.read() as session:
            repo = ExperimentRepo(session)
            head = repo.queue_page(None, QUEUE_PAGE)
            if not head:
                return 0  # nothing queued at all (most passes of an idle server)
            held = repo.held_resources()
            templates = ComputeRepo(session).all()
            total = self.executor.capacity()
            free = total
            for resources in held:
                free = free - as_resources(resources)
            owned: dict[str, bool] = {}
            if any(t.resources.fits_in(free) for t in templates.values()):
                # the head's projects' settings in this same read: a pass that starts one
                # task opens one read session, not two
                settings = SettingsRepo(session)
                for pid in {e.project_id for e in head}:
                    with contextlib.suppress(NotFound):  # gone: _pick meets it as before
                        owned[pid] = settings.get(pid).use_only_owned_compute
        started = 0
        for experiment in self._queue_from(head):
            if not any(t.resources.fits_in(free) for t in templates.values()):
                break  # full: the rest waits, as checked on an earlier pass
            template = self._pick(experiment, templates, free, total, owned)
            if template is None:
                continue
            free = free - template.resources
            if self._launch(experiment, template):
                started += 1
        while page := self._queue_page(self._checked):  # new since the last pass
            for experiment in page:
                template = self._pick(experiment, templates, free, total, owned)
                if template is not None:
                    free = free - template.resources
                    started += self._launch(experiment, template)
            self._checked = page[-1].key
        return started

    def _queue_from(self, head: list[Waiting]) -> Iterator[Waiting]:
        """The queue in order from ``head`` (its first page), the next page read only when
        the last is used up."""
        page = head
        while page:
            yield from page
            if len(page) < QUEUE_PAGE:
                return
            page = self._queue_page(page[-1].key)

    def _queue_page(self, after: QueueKey | None) -> list[Waiting]:
        with self.db.read() as session:
            return ExperimentRepo(session).queue_page(after, QUEUE_PAGE)

    def _pick(
        self,
        experiment: Waiting,
        templates: dict[str, ComputeTemplate],
        free: Resources,
        total: Resources,
        owned: dict[str, bool],
    ) -> ComputeTemplate | None:
        requested = experiment.computes or [DEFAULT_COMPUTE]
        if experiment.project_id not in owned:
            with self.db.read() as session:
                settings = SettingsRepo(session).get(experiment.project_id)
            owned[experiment.project_id] = settings.use_only_owned_compute
        only = experiment.created_by if owned[experiment.project_id] else None
        try:
            template = choose_compute(requested, templates, free, only_owned_by=only)
        except HeadwaterError as exc:
            self._fail(experiment.id, f"cannot schedule: {exc}")
            return None
        if template is None and not any(
            name in templates and fits_ever(templates[name], total) for name in requested
        ):
            # e.g. a custom resource no node of this executor has: refused now, with what
            # is missing, rather than queued for ever
            self._fail(
                experiment.id,
                f"{never_fits(requested, templates, total)} on the {self.executor.name} executor",
            )
        return template

    def _launch(self, experiment: Waiting, template: ComputeTemplate) -> bool:
        try:
            with self.db.write() as session:
                repo = ExperimentRepo(session)
                before, after = repo.move(
                    experiment.id,
                    JobState.INITIALIZING,
                    compute=template.name,
                    resources=asdict(template.resources),
                    # launched_at: the watchdog's idle clock starts here for this attempt
                    runner={
                        "executor": self.executor.name,
                        "launched_at": datetime.now(UTC).isoformat(),
                    },
                )
                # Scoped to this experiment, ended with it: never the user's own rights.
                token = UserRepo(session).issue_task_token(experiment.created_by, experiment.id)
                repo.set_task_token(experiment.id, token_hash(token))
        except (Conflict, NotFound):
            return False  # stopped or deleted meanwhile
        self.notifications.transitioned(before, after)
        launch = Launch(
            experiment_id=experiment.id,
            project_id=experiment.project_id,
            server_url=self.server_url(),
            token=token,
            resources=template.resources,
            spec=self._spec(after, token),
            serving=_serving_version(after.options),
        )
        try:
            runner = self.executor.launch(launch)
        except Exception as exc:
            log.exception("could not launch experiment %s", experiment.id)
            self._fail(experiment.id, f"could not start on {self.executor.name}: {exc}")
            return False
        if not runner.items() <= after.runner.items():  # what the backend adds to find it again
            with self.db.write() as session:
                now = ExperimentRepo(session).add_runner(experiment.id, runner)
            if now.state.terminal:  # stopped while it launched: the stop's cancel came early
                self.executor.cancel(experiment.id, now.runner)
        return True

    def _spec(self, experiment: Experiment, token: str) -> dict[str, Any] | None:
        """The task's spec to send along, or None: then its runtime asks (and meets the same
        error, in its log, if building it fails)."""
        if self.task_spec is None:
            return None
        try:
            return self.task_spec(experiment, token)
        except Exception as exc:
            log.info("experiment %s: its runtime will fetch its spec (%s)", experiment.id, exc)
            return None

    def _fail(self, experiment_id: str, reason: str) -> None:
        self.transition(experiment_id, JobState.FAILED, reason=reason)

    def transition(self, experiment_id: str, target: JobState, **fields: Any) -> bool:
        """Apply one transition and tell whoever listens; False when the table refuses it."""
        try:
            with self.db.write() as session:
                before, after = ExperimentRepo(session).move(experiment_id, target, **fields)
        except (Conflict, NotFound):
            return False
        self.notifications.transitioned(before, after)
        if after.state.terminal or after.state is JobState.QUEUED:
            self.wake()
        return True

    def report(
        self,
        experiment_id: str,
        target: JobState,
        *,
        reason: str | None,
        exit_code: int | None,
        runner: dict[str, Any] | None,
        output_commit: str | None,
        logs: Sequence[tuple[int, str, str]] = (),
        tags: dict[str, str] | None = None,
        running_for: float | None = None,
    ) -> tuple[Experiment, bool]:
        """A runtime's report, in one transaction: its details always land; the state change
        only where the table allows it. Returns the experiment and whether the move happened
        (a repeated report of the current state counts as done).

        ``running_for``: how long the command has run. A runtime says running only once its
        command has run a moment, so a short task reports once, at its end: then the move to
        running is made first, dated by it, and both are told to whoever listens."""
        with self.db.write() as session:
            repo = ExperimentRepo(session)
            current = repo.get(experiment_id)
            repo.append_logs(experiment_id, logs)
            if tags:
                repo.set_values(experiment_id, "tag", tags)
            if runner:
                repo.add_runner(experiment_id, runner)
            if output_commit:
                repo.set_output_commit(experiment_id, output_commit)
            if current.state == target:
                return repo.get(experiment_id), True
            if target.terminal and current.state.terminal:
                repo.end_task_token(experiment_id)  # the last word of a task a user stopped
                return repo.get(experiment_id), False
            started = None
            if running_for is not None:
                started = datetime.now(UTC) - timedelta(seconds=running_for)
            moves: list[tuple[Experiment, Experiment]] = []
            try:
                passed = current.state is JobState.INITIALIZING and target.terminal
                if started is not None and passed:  # it ran: say so, in order
                    moves.append(repo.move(experiment_id, JobState.RUNNING, started_at=started))
                moves.append(
                    repo.move(
                        experiment_id,
                        target,
                        reason=reason,
                        exit_code=exit_code,
                        started_at=started,
                    )
                )
            except Conflict:
                return current, False
        self.notifications.moved(moves)
        after = moves[-1][1]
        if after.state.terminal:
            self.wake()
        return after, True

    def stop(self, experiment: Experiment) -> bool:
        """Abort it: a queued one at once, a running one by cancelling its process group."""
        if not self.transition(
            experiment.id, JobState.ABORTED, reason="stopped by a user", end_token=False
        ):
            return False
        if experiment.state.active:
            self.executor.cancel(experiment.id, experiment.runner)
        return True

    def _told(self, ended: Sequence[str]) -> None:
        """Experiments ended in bulk (a stopped run's queued instances), for the notifiers."""
        if ended:
            self.notifications.ended_in_bulk(ended)
            self.wake()

    def stop_replica(self, experiment: Experiment, why: str) -> bool:
        """Stop an endpoint replica's task for the serving controller, saying why."""
        if not self.transition(
            experiment.id, JobState.ABORTED, reason=f"replica stopped: {why}", end_token=False
        ):
            return False
        if experiment.state.active:
            self.executor.cancel(experiment.id, experiment.runner)
        return True

    # -- flows ---------------------------------------------------------------------------

    def _approval_needed(self, approval: Approval) -> None:
        run = approval.run
        with self.db.read() as session:
            emails = approver_emails(session, approval.approvers)
        self.notifications.flow_event(
            FlowNews(
                approval.project_id,
                "flow.pending_approval",
                run.id,
                f"flow {run.flow!r} run {run.number}: task {approval.task!r} needs approval",
                "pending_approval",
                f"approve with: hw flow approve {run.number} {approval.task!r}",
                f"bakes/{run.number}",
                {"run": run.number, "flow": run.flow, "task": approval.task},
                tuple(emails),
            )
        )

    def _run_ended(self, run: FlowRun) -> None:
        kind = "flow.succeeded" if run.state is RunState.SUCCESS else "flow.failed"
        self.notifications.flow_event(
            FlowNews(
                run.project_id,
                kind,
                run.id,
                f"flow {run.flow!r} run {run.number}",
                run.state.value,
                run.reason,
                f"bakes/{run.number}",
                {"run": run.number, "flow": run.flow, "version": run.version},
            )
        )

    # -- the watchdog and recovery ---------------------------------------------------------

    def watch(self) -> None:
        """End active experiments whose process is gone; restart idle or stuck ones."""
        with self.db.read() as session:
            active = ExperimentRepo(session).in_states(ACTIVE)
        now = datetime.now(UTC)
        idle_cache: dict[str, tuple[bool, int]] = {}
        for experiment in active:
            if not experiment.runner:
                continue  # being launched right now
            liveness = self.executor.poll(experiment.id, experiment.runner)
            if liveness is Liveness.GONE:
                self._lost(experiment.id)
                continue
            if experiment.options.get("replica"):
                continue  # an endpoint replica is quiet while nobody calls it: never idle
            if experiment.project_id not in idle_cache:
                with self.db.read() as session:
                    settings = SettingsRepo(session).get(experiment.project_id)
                idle_cache[experiment.project_id] = (
                    settings.restart_when_idle,
                    settings.idle_minutes,
                )
            when_idle, minutes = idle_cache[experiment.project_id]
            if not (when_idle or experiment.options.get("restart_if_stuck")):
                continue
            if now - experiment.quiet_since > timedelta(minutes=minutes):
                # The move first: it ends the attempt's token, so the process stopped next
                # cannot report its end ("aborted: stopped") over the restart.
                restarted = self.transition(
                    experiment.id,
                    JobState.QUEUED,
                    reason=f"restarted: no output for {minutes} minutes",
                    restart=True,
                )
                if restarted:  # else it ended meanwhile: nothing to stop
                    self.executor.cancel(experiment.id, experiment.runner)

    def _lost(self, experiment_id: str) -> None:
        self.transition(
            experiment_id,
            JobState.FAILED,
            reason="lost: its process ended without reporting how (the machine or the "
            "worker went away); its logs and metrics up to then are kept",
        )

    def recover(self) -> None:
        """After a (re)start: adopt active experiments whose task still runs, end the rest."""
        with self.db.read() as session:
            active = ExperimentRepo(session).in_states(ACTIVE)
        for experiment in active:
            liveness = self.executor.poll(experiment.id, experiment.runner)
            if liveness is Liveness.ALIVE:
                log.info("adopted experiment %s", experiment.id)
            elif liveness is Liveness.GONE or not experiment.runner:
                self._lost(experiment.id)


def _serving_version(options: dict[str, Any]) -> str | None:
    """The endpoint version a replica task serves; workspaces and TensorBoards are replicas
    too (``"replica": true``) but serve no version."""
    replica = options.get("replica")
    return replica.get("version") if isinstance(replica, dict) else None

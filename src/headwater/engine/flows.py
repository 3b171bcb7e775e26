"""The flow driver: moves every active run one step on each engine pass.

It keeps no state of its own: each pass reads a run's tasks and instances, and in one
transaction ends the tasks whose instances all ended, starts the tasks whose parents all
ended (expanding their routes with ``domain.flowspec.routes.expand``), parks the ones that
need a person as pending approval, and sets the run's state from its tasks'. A crash between
passes loses nothing, and nothing starts twice: a task's instances and its move to running
are written together.
"""

from __future__ import annotations

import functools
import logging
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from headwater.db.database import Database
from headwater.db.repos.activity import ActivityRepo
from headwater.db.repos.experiments import ExperimentRepo
from headwater.db.repos.flowruns import (
    ActiveRun,
    RunRepo,
    active_run_keys,
    any_going,
    task_states,
)
from headwater.db.repos.flows import FlowRepo
from headwater.db.repos.users import UserRepo
from headwater.domain.entities import ActivityKind
from headwater.domain.errors import HeadwaterError, InvalidInput
from headwater.domain.flowruns import (
    FlowRecord,
    FlowRun,
    RunInstance,
    RunState,
    RunTask,
    TaskState,
    run_outcome,
    task_outcome,
)
from headwater.domain.flowspec import MAX_INSTANCES, parse_flow
from headwater.domain.flowspec.model import Flow, GatedTask
from headwater.domain.jobs import Experiment, JobState
from headwater.engine.flowtasks import start_task
from headwater.engine.ports import ObjectsSource, TreeSource

log = logging.getLogger("headwater.engine.flows")

ACTIVE = (JobState.INITIALIZING, JobState.RUNNING)
BROKEN_PARENT = (TaskState.FAILED, TaskState.ABORTED, TaskState.SKIPPED)
NOT_IN_RUN = "not part of this run"


@dataclass(frozen=True)
class Approval:
    """A task that waits for a person: who to tell, and where to send them."""

    project_id: str
    run: FlowRun
    task: str
    approvers: tuple[str, ...]


@functools.lru_cache(maxsize=256)
def flow_of(flow_id: str, version: int, text: str) -> Flow:
    """A stored version, parsed once (the text was checked when it was saved; its instance
    counts under the limit of that day: a run meets today's as it expands)."""
    return parse_flow(text, source=f"flow version {version}", max_instances=sys.maxsize)


def load_flow(repo: FlowRepo, flow: FlowRecord, version: int) -> Flow:
    stored = repo.version(flow, version)
    return flow_of(flow.id, version, stored.yaml)


def run_flow_spec(session: Session, run: FlowRun) -> Flow:
    """The flow file a run runs: its own version, whatever the flow's latest is now."""
    repo = FlowRepo(session)
    return load_flow(repo, repo.by_id(run.flow_id), run.version)


class FlowDriver:
    def __init__(
        self,
        db: Database,
        *,
        stop: Callable[[Experiment], bool],
        told: Callable[[Sequence[str]], None],
        wake: Callable[[], None],
        approval_needed: Callable[[Approval], None],
        run_ended: Callable[[FlowRun], None],
        trees: TreeSource | None = None,
        missing: ObjectsSource | None = None,
        max_instances: int = MAX_INSTANCES,
    ) -> None:
        self.db = db
        self._trees = trees
        self._missing = missing
        self.max_instances = max_instances  # of one task (the server's setting)
        self._stop = stop
        self._told = told  # experiments ended here in bulk, for the notifiers
        self._wake = wake
        self._approval_needed = approval_needed
        self._run_ended = run_ended
        self._flows: dict[tuple[str, int], Flow] = {}  # (flow id, version) -> parsed
        self._flows_lock = threading.Lock()

    # -- the pass --------------------------------------------------------------------------

    def advance(self) -> int:
        """One step for every active run that has one to take; returns how many changed."""
        due: list[tuple[ActiveRun, Exception | None]] = []
        with self.db.connect() as conn:  # called on every pass: most have no run at all
            for run in active_run_keys(conn):
                try:
                    if self._has_work(conn, run):
                        due.append((run, None))
                except Exception as exc:  # one broken run must not stop the others
                    due.append((run, exc))
        changed = 0
        for run, broken in due:
            try:
                if broken is not None:
                    raise broken
                if self._advance(run.id):
                    changed += 1
            except Exception as exc:
                log.exception("flow run %s failed to advance", run.id)
                self._fail_run(run.id, f"the engine could not advance this run: {exc}")
        return changed

    def _has_work(self, conn: Connection, run: ActiveRun) -> bool:
        """A cheap look before the locked pass: a running task whose instances all ended, a
        waiting task whose parents all ended, or a run whose state lags its tasks'. The engine
        wakes on every ending; without this each wake would load every instance of every run.
        A running task costs one probe that stops at its first instance still going (not a
        count of all of them: that made a 10,000-instance run quadratic). Bare rows on one
        connection, and the run's parsed flow kept (a version never changes): the look costs
        two or three small queries a run."""
        tasks = task_states(conn, run.id)
        for title, state in tasks.items():
            if state is TaskState.RUNNING and not any_going(conn, run.id, title):
                return True
        if any(state is TaskState.WAITING for state in tasks.values()):
            flow = self._flow(run.flow_id, run.version)
            for title, state in tasks.items():
                if state is TaskState.WAITING and all(
                    tasks[p].terminal for p in flow.graph.parents(title)
                ):
                    return True
        return run_outcome(tasks.values()) is not run.state

    def _flow(self, flow_id: str, version: int, session: Session | None = None) -> Flow:
        """A stored version's parsed flow: versions are written once, never changed."""
        key = (flow_id, version)
        flow = self._flows.get(key)
        if flow is None:
            with nullcontext(session) if session is not None else self.db.read() as s:
                repo = FlowRepo(s)
                flow = load_flow(repo, repo.by_id(flow_id), version)
            with self._flows_lock:  # the engine's thread and requests' (advance_one) share it
                if len(self._flows) >= 256:
                    self._flows.pop(next(iter(self._flows)), None)
                self._flows[key] = flow
        return flow

    def _advance(self, run_id: str) -> bool:
        approvals: list[Approval] = []
        created = False
        with self.db.write() as session:
            runs = RunRepo(session)
            run = runs.lock_run(run_id)
            if run.state.terminal:
                return False
            flow = self._flow(run.flow_id, run.version, session)
            tasks = {t.title: t for t in runs.tasks(run.id)}
            instances = runs.instances(run.id)
            before = {t: s.state for t, s in tasks.items()}
            by_task: dict[str, list[RunInstance]] = {}
            for inst in instances:
                by_task.setdefault(inst.task, []).append(inst)
            for title, task in tasks.items():
                if task.state is TaskState.RUNNING:
                    ended = task_outcome(i.state for i in by_task.get(title, ()))
                    if ended is not None:
                        failed = sum(i.state is JobState.FAILED for i in by_task[title])
                        reason = (
                            f"{failed} of {len(by_task[title])} instances failed"
                            if failed
                            else None
                        )
                        tasks[title] = runs.move_task(run.id, title, ended, reason=reason)
            graph = self._graph(run, flow, by_task)
            for title in flow.graph.order():
                task = tasks[title]
                if task.state is not TaskState.WAITING:
                    continue
                parents = graph(title)
                if any(not tasks[p].state.terminal for p in parents):
                    continue
                broken = [p for p in parents if tasks[p].state in BROKEN_PARENT]
                if broken:
                    state = tasks[broken[0]].state.value
                    reason = f"its parent {broken[0]!r} {_said(state)}"
                    tasks[title] = runs.move_task(run.id, title, TaskState.SKIPPED, reason=reason)
                    continue
                spec = flow.task(title)
                if isinstance(spec, GatedTask) and spec.needs_approval and not task.approved:
                    tasks[title] = runs.move_task(
                        run.id,
                        title,
                        TaskState.PENDING_APPROVAL,
                        reason=f"waits for approval by {', '.join(spec.approvers)}",
                    )
                    approvals.append(Approval(run.project_id, run, title, spec.approvers))
                    continue
                tasks[title] = start_task(
                    session,
                    run,
                    flow,
                    spec,
                    by_task,
                    parents,
                    trees=self._trees,
                    missing=self._missing,
                    max_instances=self.max_instances,
                )
                created = created or tasks[title].state is TaskState.RUNNING
            outcome = run_outcome(t.state for t in tasks.values())
            moved = outcome is not run.state
            if moved:
                reason = _run_reason(tasks.values()) if outcome.terminal else None
                after = runs.move_run(run.id, outcome, reason=reason)
                if outcome.terminal:
                    _record_end(session, run, f"ended {outcome.value}", outcome)
                run = after
        for approval in approvals:
            self._approval_needed(approval)
        if moved and run.state.terminal:
            self._run_ended(run)
        if created:
            self._wake()
        return moved or any(before[t] != s.state for t, s in tasks.items())

    def _graph(
        self, run: FlowRun, flow: Flow, by_task: Mapping[str, Sequence[RunInstance]]
    ) -> Callable[[str], tuple[str, ...]]:
        """Parents as this run sees them: a run of one task (``--only``) with no earlier run
        to take inputs from has none."""
        if run.only is not None and not any(by_task.get(a) for a in flow.graph.ancestors(run.only)):
            return lambda title: () if title == run.only else flow.graph.parents(title)
        return flow.graph.parents

    # -- people and endings ----------------------------------------------------------------

    def decide(
        self, run: FlowRun, title: str, *, approve: bool, user: str, comment: str = ""
    ) -> FlowRun:
        """Approve (the task starts on the next pass) or reject (the run is aborted); the
        comment is kept with the task, for the record."""
        said = comment.strip() or None
        with self.db.write() as session:
            runs = RunRepo(session)
            runs.lock_run(run.id)
            task = next((t for t in runs.tasks(run.id) if t.title == title), None)
            if task is None or task.state is not TaskState.PENDING_APPROVAL:
                state = task.state.value if task is not None else "missing"
                raise InvalidInput(
                    f"task {title!r} of run {run.number} is not pending approval ({state})",
                    where="task",
                    hint="`hw inspect RUN` shows which task waits for approval.",
                )
            if approve:
                runs.move_task(
                    run.id,
                    title,
                    TaskState.WAITING,
                    reason=f"approved by {user}",
                    approved=True,
                    decided_by=user,
                    comment=said,
                )
            else:
                runs.move_task(
                    run.id,
                    title,
                    TaskState.ABORTED,
                    reason=f"rejected by {user}",
                    decided_by=user,
                    comment=said,
                )
        if not approve:
            return self.stop(run, reason=f"task {title!r} was rejected by {user}")
        self.advance_one(run.id)
        return self._reload(run.id)

    def stop(self, run: FlowRun, *, reason: str) -> FlowRun:
        """Abort the run: its tasks not ended end aborted, then its queued instances (all at
        once, however many), then its running ones are stopped one by one (their processes
        signalled). Each step goes through the transition tables, so a launch that races the
        stop finds its experiment aborted and starts nothing."""
        with self.db.write() as session:
            runs = RunRepo(session)
            current = runs.lock_run(run.id)
            if current.state.terminal:
                return current
            for task in runs.tasks(run.id):
                if not task.state.terminal:
                    runs.move_task(run.id, task.title, TaskState.ABORTED, reason=reason)
        with self.db.write() as session:
            ids = RunRepo(session).experiment_ids(run.id)
            experiments = ExperimentRepo(session)
            aborted = experiments.move_queued(ids, JobState.ABORTED, reason="stopped by a user")
            live = experiments.in_states(ACTIVE, among=ids)
        self._told(aborted)
        for experiment in live:
            self._stop(experiment)
        with self.db.write() as session:
            runs = RunRepo(session)
            if not runs.lock_run(run.id).state.terminal:
                runs.move_run(run.id, RunState.ABORTED, reason=reason)
                _record_end(session, run, f"aborted: {reason}", RunState.ABORTED)
        return self._reload(run.id)

    def advance_one(self, run_id: str) -> None:
        if not self._reload(run_id).state.terminal:
            self._advance(run_id)

    def _reload(self, run_id: str) -> FlowRun:
        with self.db.read() as session:
            return RunRepo(session).run(run_id)

    def _fail_run(self, run_id: str, reason: str) -> None:
        try:
            with self.db.write() as session:
                runs = RunRepo(session)
                for task in runs.tasks(run_id):
                    if task.state in (TaskState.WAITING, TaskState.PENDING_APPROVAL):
                        runs.move_task(run_id, task.title, TaskState.ABORTED, reason=reason)
                runs.move_run(run_id, RunState.FAILED, reason=reason)
        except HeadwaterError:
            log.exception("could not end flow run %s", run_id)


def approver_emails(session: Session, approvers: Sequence[str]) -> list[str]:
    """Approvers as the file names them (usernames or emails) -> where to write to them."""
    users = UserRepo(session)
    out = []
    for name in approvers:
        try:
            out.append(users.find(name).email)
        except HeadwaterError:
            if "@" in name:
                out.append(name)
            else:
                log.warning("approver %r is not a user of this server", name)
    return out


def _said(state: str) -> str:
    return {"failed": "failed", "aborted": "was aborted", "skipped": "was skipped"}[state]


def _record_end(session: Session, run: FlowRun, how: str, state: RunState) -> None:
    """The run's ending in the project's activity feed."""
    ActivityRepo(session).record(
        run.project_id,
        "engine",
        ActivityKind.RUN_ENDED,
        f"flow {run.flow!r} run {run.number} {how}",
        {"run": run.number, "flow": run.flow, "state": state.value},
    )


def _run_reason(tasks: Iterable[RunTask]) -> str | None:
    failed = [t.title for t in tasks if t.state is TaskState.FAILED]
    if failed:
        # the state is shown beside the reason ("failed: task 'Bad' failed"): never repeat it
        # as a prefix, which read "failed: failed: 'Bad'"
        names = ", ".join(repr(t) for t in failed)
        return f"task {names} failed" if len(failed) == 1 else f"tasks {names} failed"
    return None

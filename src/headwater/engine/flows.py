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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from headwater.db.database import Database
from headwater.db.repos.activity import ActivityRepo
from headwater.db.repos.experiments import ExperimentRepo
from headwater.db.repos.flows import FlowRepo
from headwater.db.repos.settings import SettingsRepo
from headwater.db.repos.users import UserRepo
from headwater.db.repos.versions import QueryRepo, VersionRepo
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
from headwater.domain.flowspec import parse_flow
from headwater.domain.flowspec.instances import Finished, Planned
from headwater.domain.flowspec.model import DataTask, DeployTask, ExecTask, Flow, GatedTask
from headwater.domain.flowspec.routes import expand
from headwater.domain.ids import new_id
from headwater.domain.jobs import Experiment, JobState
from headwater.domain.versions import RepoKind

log = logging.getLogger("headwater.engine.flows")

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
    """A stored version, parsed once (the text was checked when it was saved)."""
    return parse_flow(text, source=f"flow version {version}")


def load_flow(repo: FlowRepo, flow: FlowRecord, version: int) -> Flow:
    stored = repo.version(flow, version)
    return flow_of(flow.id, version, stored.yaml)


def unsupported(task: GatedTask) -> str | None:
    """Keys a run needs but this server cannot honour yet: said, never silently ignored."""
    keys = [k for k in ("git_branch", "git_commit") if getattr(task, k)]
    if isinstance(task, ExecTask) and task.mount_folders:
        keys.append("mount_folders")
    if not keys:
        return None
    return (
        f"{', '.join(keys)} {'is' if len(keys) == 1 else 'are'} not supported yet on this "
        "server (the local executor runs the project's synced files); remove "
        f"{'it' if len(keys) == 1 else 'them'} from task {task.title!r} to run it"
    )


class FlowDriver:
    def __init__(
        self,
        db: Database,
        *,
        stop: Callable[[Experiment], bool],
        wake: Callable[[], None],
        approval_needed: Callable[[Approval], None],
        run_ended: Callable[[FlowRun], None],
    ) -> None:
        self.db = db
        self._stop = stop
        self._wake = wake
        self._approval_needed = approval_needed
        self._run_ended = run_ended

    # -- the pass --------------------------------------------------------------------------

    def advance(self) -> int:
        """One step for every active run; returns how many runs changed."""
        with self.db.read() as session:
            runs = FlowRepo(session).active_runs()
        changed = 0
        for run in runs:
            try:
                if self._advance(run):
                    changed += 1
            except Exception as exc:  # one broken run must not stop the others
                log.exception("flow run %s failed to advance", run.id)
                self._fail_run(run, f"the engine could not advance this run: {exc}")
        return changed

    def _advance(self, run: FlowRun) -> bool:
        approvals: list[Approval] = []
        created = False
        with self.db.write() as session:
            repo = FlowRepo(session)
            run = repo.lock_run(run.id)
            if run.state.terminal:
                return False
            flow = load_flow(repo, repo.by_id(run.flow_id), run.version)
            tasks = {t.title: t for t in repo.tasks(run.id)}
            instances = repo.instances(run.id)
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
                        tasks[title] = repo.move_task(run.id, title, ended, reason=reason)
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
                    reason = f"skipped: its parent {broken[0]!r} {_said(state)}"
                    tasks[title] = repo.move_task(run.id, title, TaskState.SKIPPED, reason=reason)
                    continue
                spec = flow.task(title)
                if isinstance(spec, GatedTask) and spec.needs_approval and not task.approved:
                    tasks[title] = repo.move_task(
                        run.id,
                        title,
                        TaskState.PENDING_APPROVAL,
                        reason=f"waits for approval by {', '.join(spec.approvers)}",
                    )
                    approvals.append(Approval(run.project_id, run, title, spec.approvers))
                    continue
                tasks[title] = self._start_task(session, run, flow, spec, by_task, parents)
                created = created or tasks[title].state is TaskState.RUNNING
            outcome = run_outcome(t.state for t in tasks.values())
            moved = outcome is not run.state
            if moved:
                reason = _run_reason(tasks.values()) if outcome.terminal else None
                after = repo.move_run(run.id, outcome, reason=reason)
                if outcome.terminal:
                    ActivityRepo(session).record(
                        run.project_id,
                        "engine",
                        ActivityKind.RUN_ENDED,
                        f"flow {run.flow!r} run {run.number} ended {outcome.value}",
                        {"run": run.number, "flow": run.flow, "state": outcome.value},
                    )
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

    # -- starting a task -------------------------------------------------------------------

    def _start_task(
        self,
        session: Session,
        run: FlowRun,
        flow: Flow,
        spec: DataTask | ExecTask | DeployTask,
        by_task: dict[str, list[RunInstance]],
        parents: Sequence[str],
    ) -> RunTask:
        repo = FlowRepo(session)
        title = spec.title
        if isinstance(spec, GatedTask):
            refusal = unsupported(spec)
            if refusal is not None:
                return repo.move_task(run.id, title, TaskState.FAILED, reason=refusal)
        try:
            if isinstance(spec, DataTask):
                made = [self._data_instance(session, run, spec)]
            else:
                view = (
                    flow if set(parents) == set(flow.graph.parents(title)) else _alone(flow, title)
                )
                expansion = expand(view, title, self._finished(session, by_task))
                if expansion.skipped is not None:
                    return repo.move_task(
                        run.id, title, TaskState.SKIPPED, reason=f"skipped: {expansion.skipped}"
                    )
                if isinstance(spec, ExecTask):
                    made = self._exec_instances(session, run, spec, expansion.instances, by_task)
                else:
                    made = [self._deploy_instance(session, run, spec, by_task, expansion.instances)]
        except HeadwaterError as exc:
            return repo.move_task(run.id, title, TaskState.FAILED, reason=str(exc))
        repo.add_instances(run.id, made)
        by_task[title] = made
        if not made:
            return repo.move_task(run.id, title, TaskState.SKIPPED, reason="skipped: no instances")
        done = all(i.state.terminal for i in made)
        return repo.move_task(run.id, title, TaskState.SUCCESS if done else TaskState.RUNNING)

    def _finished(
        self, session: Session, by_task: Mapping[str, Sequence[RunInstance]]
    ) -> dict[str, list[Finished]]:
        """Instances that ended well, with their tags, as expansion reads them."""
        ids = [i.experiment_id for group in by_task.values() for i in group if i.experiment_id]
        values = ExperimentRepo(session).values_of(ids) if ids else {}
        out: dict[str, list[Finished]] = {}
        for title, group in by_task.items():
            out[title] = [
                Finished(
                    i.id,
                    title,
                    dict(i.params),
                    {**values.get(i.experiment_id or "", {}).get("tag", {}), **_own_tags(i)},
                    i.parents,
                )
                for i in group
                if i.state is JobState.SUCCESS
            ]
        return out

    def _data_instance(self, session: Session, run: FlowRun, spec: DataTask) -> RunInstance:
        versions = VersionRepo(session)
        repo = versions.get(run.project_id, RepoKind.DATASET, spec.dataset)
        filter_text = None
        if spec.data_query:
            query = QueryRepo(session).get(repo, spec.data_query)
            commit = versions.resolve(repo.id, query.commit).id
            filter_text = query.filter
        elif spec.data_commit:
            commit = versions.resolve(repo.id, spec.data_commit).id
        else:
            head = versions.head(repo.id)
            if head is None:
                raise InvalidInput(
                    f"dataset {spec.dataset!r} has no version yet",
                    where=f"tasks.{spec.title}.dataset",
                    hint=f"Push files first: hw dataset push {spec.dataset} DIR.",
                )
            commit = head.id
        now = datetime.now(UTC)
        data = {"dataset": spec.dataset, "commit": commit, "filter": filter_text}
        return RunInstance(
            new_id(), run.id, spec.title, None, JobState.SUCCESS, {}, (), data, now, now
        )

    def _exec_instances(
        self,
        session: Session,
        run: FlowRun,
        spec: ExecTask,
        planned: Sequence[Planned],
        by_task: Mapping[str, Sequence[RunInstance]],
    ) -> list[RunInstance]:
        settings = SettingsRepo(session).get(run.project_id)
        versions = VersionRepo(session)
        head = versions.head(versions.files_repo(run.project_id).id)
        known = {i.id: i for group in by_task.values() for i in group}
        experiments = ExperimentRepo(session)
        out = []
        for plan in planned:
            datasets = [
                {
                    "name": known[u.instance].data["dataset"],
                    "commit": known[u.instance].data["commit"],
                    "filter": known[u.instance].data.get("filter"),
                }
                for u in plan.datasets
            ]
            inputs = [
                {"name": u.folder, "experiment": known[u.instance].experiment_id}
                for u in plan.inputs
                if known[u.instance].experiment_id
            ]
            options: dict[str, Any] = {
                "requirements": spec.requirements,
                "prerun": spec.prerun,
                "restart_if_stuck": spec.restart_if_stuck,
                "notify_on_error": spec.notify_on_error,
                "notify_on_success": spec.notify_on_success,
                "emails": list(spec.emails),
                "periodic_sync": spec.periodic_sync,
                "datasets": [],
                "flow": {
                    "run": run.id,
                    "run_number": run.number,
                    "task": spec.title,
                    "env": dict(plan.env),
                    "inputs": inputs,
                    "datasets": datasets,
                    "passed": list(plan.passed_condition),
                    "image": spec.image,
                },
            }
            (experiment,) = experiments.create_many(
                run.project_id,
                run.creator_id,
                command=spec.command,
                runs=[plan.params],
                title=f"{run.flow} #{run.number}: {spec.title}",
                computes=list(spec.computes),
                start_commit=head.id if head else None,
                output_dir=spec.output_dir or settings.output_dir,
                options=options,
                resources={},
            )
            out.append(
                RunInstance(
                    new_id(),
                    run.id,
                    spec.title,
                    experiment.id,
                    JobState.QUEUED,
                    dict(plan.params),
                    plan.parent_ids,
                    {},
                    datetime.now(UTC),
                )
            )
        return out

    def _deploy_instance(
        self,
        session: Session,
        run: FlowRun,
        spec: DeployTask,
        by_task: Mapping[str, Sequence[RunInstance]],
        planned: Sequence[Planned],
    ) -> RunInstance:
        """Records the endpoint's definition; serving it is the serving package's job."""
        slug = spec.endpoint_title or spec.endpoint_id or spec.title
        known = {i.id: i for group in by_task.values() for i in group}
        sources = sorted(
            {known[p].experiment_id or "" for plan in planned for p in plan.parent_ids} - {""}
        )
        definition = {
            "file_name": spec.file_name,
            "function_name": spec.function_name,
            "env_setup": spec.env_setup,
            "min_replica": spec.min_replica,
            "max_replica": spec.max_replica,
            "config_vars": list(spec.config_vars),
            "accept_files": spec.accept_files,
            "computes": list(spec.computes),
            "image": spec.image,
            "model_experiments": sources,
        }
        new = FlowRepo(session).define_endpoint(run.project_id, slug, definition, run.id)
        now = datetime.now(UTC)
        data = {"endpoint": slug, "status": "defined", "new": new, "tags": {"endpoint": slug}}
        parents = tuple(dict.fromkeys(p for plan in planned for p in plan.parent_ids))
        return RunInstance(
            new_id(), run.id, spec.title, None, JobState.SUCCESS, {}, parents, data, now, now
        )

    # -- people and endings ----------------------------------------------------------------

    def decide(self, run: FlowRun, title: str, *, approve: bool, user: str) -> FlowRun:
        """Approve (the task starts on the next pass) or reject (the run is aborted)."""
        with self.db.write() as session:
            repo = FlowRepo(session)
            repo.lock_run(run.id)
            task = next((t for t in repo.tasks(run.id) if t.title == title), None)
            if task is None or task.state is not TaskState.PENDING_APPROVAL:
                state = task.state.value if task is not None else "missing"
                raise InvalidInput(
                    f"task {title!r} of run {run.number} is not pending approval ({state})",
                    where="task",
                    hint="`hw inspect RUN` shows which task waits for approval.",
                )
            if approve:
                repo.move_task(
                    run.id,
                    title,
                    TaskState.WAITING,
                    reason=f"approved by {user}",
                    approved=True,
                    decided_by=user,
                )
            else:
                repo.move_task(
                    run.id, title, TaskState.ABORTED, reason=f"rejected by {user}", decided_by=user
                )
        if not approve:
            return self.stop(run, reason=f"task {title!r} was rejected by {user}")
        self.advance_one(run.id)
        return self._reload(run.id)

    def stop(self, run: FlowRun, *, reason: str) -> FlowRun:
        """Abort the run: waiting tasks end aborted, running instances are stopped."""
        with self.db.write() as session:
            repo = FlowRepo(session)
            current = repo.lock_run(run.id)
            if current.state.terminal:
                return current
            experiments = ExperimentRepo(session)
            live = []
            for inst in repo.instances(run.id):
                if inst.experiment_id and not inst.state.terminal:
                    live.append(experiments.get(inst.experiment_id))
            for task in repo.tasks(run.id):
                if not task.state.terminal:
                    repo.move_task(run.id, task.title, TaskState.ABORTED, reason=reason)
        for experiment in live:
            self._stop(experiment)
        with self.db.write() as session:
            repo = FlowRepo(session)
            if not repo.lock_run(run.id).state.terminal:
                repo.move_run(run.id, RunState.ABORTED, reason=reason)
                ActivityRepo(session).record(
                    run.project_id,
                    "engine",
                    ActivityKind.RUN_ENDED,
                    f"flow {run.flow!r} run {run.number} aborted: {reason}",
                    {"run": run.number, "flow": run.flow, "state": "aborted"},
                )
        return self._reload(run.id)

    def advance_one(self, run_id: str) -> None:
        run = self._reload(run_id)
        if not run.state.terminal:
            self._advance(run)

    def _reload(self, run_id: str) -> FlowRun:
        with self.db.read() as session:
            return FlowRepo(session).run(run_id)

    def _fail_run(self, run: FlowRun, reason: str) -> None:
        try:
            with self.db.write() as session:
                repo = FlowRepo(session)
                for task in repo.tasks(run.id):
                    if task.state in (TaskState.WAITING, TaskState.PENDING_APPROVAL):
                        repo.move_task(run.id, task.title, TaskState.ABORTED, reason=reason)
                repo.move_run(run.id, RunState.FAILED, reason=reason)
        except HeadwaterError:
            log.exception("could not end flow run %s", run.id)


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


def _alone(flow: Flow, title: str) -> Flow:
    """The flow as a run of ``title`` alone sees it: no relations into it."""
    kept = tuple(r for r in flow.relations if r.to != title)
    return flow.model_copy(update={"relations": kept})


def _own_tags(instance: RunInstance) -> dict[str, str]:
    tags = instance.data.get("tags")
    return {str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {}


def _said(state: str) -> str:
    return {"failed": "failed", "aborted": "was aborted", "skipped": "was skipped"}[state]


def _run_reason(tasks: Sequence[RunTask] | Any) -> str | None:
    failed = [t.title for t in tasks if t.state is TaskState.FAILED]
    if failed:
        return f"failed: {', '.join(repr(t) for t in failed)}"
    return None

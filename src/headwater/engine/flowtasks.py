"""Starting one task of a flow run: its instances, made from its parents' that ended well.

Data tasks resolve their dataset to a commit (or a saved query); exec tasks become one queued
experiment per route and combination of their grid, each carrying what it will see (tags as
env vars, parents' artifacts, datasets, the parents that passed its condition); deploy tasks
record their endpoint's definition. Pure route expansion is ``domain.flowspec.routes``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from headwater.db.repos.endpoints import EndpointRepo
from headwater.db.repos.experiments import ExperimentRepo
from headwater.db.repos.flowruns import RunRepo
from headwater.db.repos.settings import SettingsRepo
from headwater.db.repos.versions import QueryRepo, VersionRepo
from headwater.domain.errors import HeadwaterError, InvalidInput, NotFound
from headwater.domain.flowruns import FlowRun, RunInstance, RunTask, TaskState
from headwater.domain.flowspec.instances import Finished, Planned, recorded
from headwater.domain.flowspec.model import DataTask, DeployTask, ExecTask, Flow, GatedTask
from headwater.domain.flowspec.routes import MAX_INSTANCES, expand
from headwater.domain.gitsource import git_source
from headwater.domain.ids import new_id
from headwater.domain.jobs import JobState
from headwater.domain.model_sources import MODEL_VALUES
from headwater.domain.versions import RepoKind
from headwater.engine import endpoints as deploys
from headwater.engine import stepcache
from headwater.engine.endpoints import VersionSource
from headwater.engine.ports import ObjectsSource, TreeSource


def unsupported(task: GatedTask) -> str | None:
    """Keys a run needs but this server cannot honour yet: said, never silently ignored.
    (An exec task's git_branch and git_commit are honoured: see ``exec_instances``.)"""
    if isinstance(task, ExecTask):
        keys = ["mount_folders"] if task.mount_folders else []
        why = "tasks run on this machine's folders, with no network drives mounted"
    else:
        keys = [k for k in ("git_branch", "git_commit") if getattr(task, k)]
        why = "on deploy tasks: an endpoint is defined from its model experiments' files"
    if not keys:
        return None
    return (
        f"{', '.join(keys)} {'is' if len(keys) == 1 else 'are'} not supported yet on this "
        f"server ({why}); remove {'it' if len(keys) == 1 else 'them'} from task "
        f"{task.title!r} to run it"
    )


def start_task(
    session: Session,
    run: FlowRun,
    flow: Flow,
    spec: DataTask | ExecTask | DeployTask,
    by_task: dict[str, list[RunInstance]],
    parents: Sequence[str],
    *,
    trees: TreeSource | None = None,
    missing: ObjectsSource | None = None,
    max_instances: int = MAX_INSTANCES,
) -> RunTask:
    runs = RunRepo(session)
    title = spec.title
    reason = None
    if isinstance(spec, GatedTask):
        refusal = unsupported(spec)
        if refusal is not None:
            return runs.move_task(run.id, title, TaskState.FAILED, reason=refusal)
    try:
        if isinstance(spec, DataTask):
            made = [data_instance(session, run, spec)]
        else:
            view = flow if set(parents) == set(flow.graph.parents(title)) else _alone(flow, title)
            expansion = expand(view, title, finished(session, by_task), limit=max_instances)
            if expansion.skipped is not None:
                return runs.move_task(run.id, title, TaskState.SKIPPED, reason=expansion.skipped)
            if isinstance(spec, ExecTask):
                stores = stepcache.Stores(trees=trees, missing=missing)
                known = {i.id: i for group in by_task.values() for i in group}
                consulted = stepcache.consult(
                    session, run, spec, expansion.instances, known, stores=stores
                )
                if consulted.waits_for is not None:  # identical work runs: hit once it ends
                    return runs.move_task(
                        run.id, title, TaskState.WAITING, reason=consulted.waits_for
                    )
                made = _cached_or_launched(
                    session, run, spec, expansion.instances, by_task, consulted
                )
                reason = consulted.summary(len(made))
            else:
                made = [deploy_instance(session, run, spec, by_task, expansion.instances, trees)]
    except HeadwaterError as exc:
        return runs.move_task(run.id, title, TaskState.FAILED, reason=str(exc))
    runs.add_instances(run.id, made)
    by_task[title] = made
    if not made:
        return runs.move_task(run.id, title, TaskState.SKIPPED, reason="no instances")
    done = all(i.state.terminal for i in made)
    target = TaskState.SUCCESS if done else TaskState.RUNNING
    return runs.move_task(run.id, title, target, reason=reason)


def _cached_or_launched(
    session: Session,
    run: FlowRun,
    spec: ExecTask,
    planned: Sequence[Planned],
    by_task: Mapping[str, Sequence[RunInstance]],
    consulted: stepcache.Consulted,
) -> list[RunInstance]:
    """The hits as the cache made them, the rest launched; in plan order, keys recorded."""
    misses = [i for i in range(len(planned)) if i not in consulted.hits]
    launched = exec_instances(session, run, spec, [planned[i] for i in misses], by_task)
    by_index = {**consulted.hits, **dict(zip(misses, launched, strict=True))}
    made = [by_index[i] for i in range(len(planned))]
    return stepcache.record(session, run, spec, consulted, made)


def finished(
    session: Session, by_task: Mapping[str, Sequence[RunInstance]]
) -> dict[str, list[Finished]]:
    """Instances that ended well, with what they recorded (``recorded``: tags, SDK params,
    latest metrics), as expansion reads them."""
    ids = [
        i.experiment_id
        for group in by_task.values()
        for i in group
        if i.experiment_id and i.state is JobState.SUCCESS
    ]
    repo = ExperimentRepo(session)
    values = repo.values_of(ids) if ids else {}
    metrics = repo.latest_metrics_of(ids)
    out: dict[str, list[Finished]] = {}
    for title, group in by_task.items():
        out[title] = []
        for i in group:
            if i.state is not JobState.SUCCESS:
                continue
            own = values.get(i.experiment_id or "", {})
            tags = {**own.get("tag", {}), **_own_tags(i)}
            got = recorded(tags, own.get("param", {}), metrics.get(i.experiment_id or "", {}))
            out[title].append(Finished(i.id, title, dict(i.params), got, i.parents))
    return out


def data_instance(session: Session, run: FlowRun, spec: DataTask) -> RunInstance:
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
    return RunInstance(new_id(), run.id, spec.title, None, JobState.SUCCESS, {}, (), data, now, now)


def exec_instances(
    session: Session,
    run: FlowRun,
    spec: ExecTask,
    planned: Sequence[Planned],
    by_task: Mapping[str, Sequence[RunInstance]],
) -> list[RunInstance]:
    settings = SettingsRepo(session).get(run.project_id)
    where, who = f"tasks.{spec.title}", f"task {spec.title!r}"
    git = git_source(settings.git, spec.git_branch, spec.git_commit, where=where, who=who)
    versions = VersionRepo(session)
    head = versions.head(versions.files_repo(run.project_id).id) if git is None else None
    known = {i.id: i for group in by_task.values() for i in group}
    shared: dict[str, Any] = {
        "requirements": spec.requirements,
        "prerun": spec.prerun,
        "restart_if_stuck": spec.restart_if_stuck,
        "notify_on_error": spec.notify_on_error,
        "notify_on_success": spec.notify_on_success,
        "emails": list(spec.emails),
        "periodic_sync": spec.periodic_sync,
        "datasets": [],
    }
    if git is not None:  # the linked repository's checkout instead of the synced files
        shared["git"] = git.to_dict()
    own = []  # what each instance sees: its route's tags, inputs and datasets
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
        flow = {
            "run": run.id,
            "run_number": run.number,
            "task": spec.title,
            "env": dict(plan.env),
            "inputs": inputs,
            "datasets": datasets,
            "passed": list(plan.passed_condition),
            "image": spec.image,
        }
        own.append({"flow": flow})
    output_dir = spec.output_dir or settings.output_dir
    model = _model_value(spec, output_dir) if spec.model else None
    if not planned:  # every instance came from the step cache
        return []
    experiments = ExperimentRepo(session)
    made = experiments.create_many(  # one insert for a whole fan-out
        run.project_id,
        run.creator_id,
        command=spec.command,
        runs=[plan.params for plan in planned],
        title=f"{run.flow} #{run.number}: {spec.title}",
        computes=list(spec.computes),
        start_commit=head.id if head else None,
        output_dir=output_dir,
        options=shared,
        options_each=own,
        resources={},
    )
    if model is not None:  # what log_model records: registered when the instance ends well
        for experiment in made:
            experiments.set_values(experiment.id, MODEL_VALUES, model)
    now = datetime.now(UTC)
    out = [
        RunInstance(
            new_id(),
            run.id,
            spec.title,
            experiment.id,
            JobState.QUEUED,
            dict(plan.params),
            plan.parent_ids,
            {},
            now,
        )
        for plan, experiment in zip(planned, made, strict=True)
    ]
    return out


def _model_value(spec: ExecTask, output_dir: str) -> dict[str, str]:
    """``model:`` (and ``model_path:``) as the value the SDK's ``log_model`` records: the model
    name -> the path within the output folder ("" for the whole folder)."""
    assert spec.model is not None
    folder = output_dir.strip("/")
    path = (spec.model_path or folder).strip("/")
    if path != folder and not path.startswith(folder + "/"):
        raise InvalidInput(
            f"model_path {path!r} is not inside the task's output folder {folder!r}",
            where=f"tasks.{spec.title}.model_path",
            hint=f"Name a file or folder under {folder}/ (the project's output folder), "
            f"or set output_dir on the task.",
        )
    return {spec.model: path[len(folder) + 1 :] if path != folder else ""}


def deploy_instance(
    session: Session,
    run: FlowRun,
    spec: DeployTask,
    by_task: Mapping[str, Sequence[RunInstance]],
    planned: Sequence[Planned],
    trees: TreeSource | None = None,
) -> RunInstance:
    """Records the endpoint (``endpoint_title``: new or updated; ``endpoint_id``: one the
    project has) and a new version serving what the parents that passed the condition made;
    the serving controller starts its replicas (a canary when another version serves)."""
    where = f"tasks.{spec.title}"
    title = _endpoint_title(session, run, spec, where)
    known = {i.id: i for group in by_task.values() for i in group}
    sources = sorted(
        {known[p].experiment_id or "" for plan in planned for p in plan.parent_ids} - {""}
    )
    commit, file = _find_deploy_file(session, run, spec, sources, trees)
    first = planned[0] if planned else None
    inputs = tuple(
        {"name": u.folder, "experiment": known[u.instance].experiment_id or ""}
        for u in (first.inputs if first else ())
        if known[u.instance].experiment_id
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
    source = VersionSource(
        commit=commit,
        file=file,
        inputs=inputs,
        passed=tuple(first.passed_condition) if first else (),
    )
    done = deploys.deploy(
        session,
        run.project_id,
        title,
        definition,
        source,
        flow_run_id=run.id,
        created_by=run.creator_id or None,
        where=where,
    )
    now = datetime.now(UTC)
    data = {
        "endpoint": title,
        "slug": done.endpoint.slug,
        "status": done.endpoint.status,
        "version": done.version.number,
        "new": done.new,
        "tags": {"endpoint": title},
    }
    parents = tuple(dict.fromkeys(p for plan in planned for p in plan.parent_ids))
    return RunInstance(
        new_id(), run.id, spec.title, None, JobState.SUCCESS, {}, parents, data, now, now
    )


def _endpoint_title(session: Session, run: FlowRun, spec: DeployTask, where: str) -> str:
    """``endpoint_title`` as given; ``endpoint_id`` names an endpoint of the project by slug,
    id or title, and its title is used."""
    if spec.endpoint_title or not spec.endpoint_id:
        return spec.endpoint_title or spec.title
    repo = EndpointRepo(session)
    found = repo.by_slug(spec.endpoint_id)
    if found is not None and found.project_id == run.project_id:
        return found.title
    try:
        return repo.get(run.project_id, spec.endpoint_id).title
    except NotFound:
        raise InvalidInput(
            f"deploy task {spec.title!r}: the project has no endpoint {spec.endpoint_id!r}",
            where=f"{where}.endpoint_id",
            hint="Name an endpoint of this project by its title, URL name or id "
            "(`hw endpoint list`), or use endpoint_title to create one.",
        ) from None


def _find_deploy_file(
    session: Session,
    run: FlowRun,
    spec: DeployTask,
    sources: Sequence[str],
    trees: TreeSource | None,
) -> tuple[str | None, str]:
    """Where the endpoint's ``file_name`` is: its model experiments' files (what each ran
    with, or its outputs: ``output/predict.py`` or ``predict.py``), or, with no parent
    experiment, the project's files. Returns the commit the replicas check out and the
    file's path in it; a name that is nowhere fails the task now, not the endpoint later."""
    versions = VersionRepo(session)
    files = versions.files_repo(run.project_id)
    looked: list[tuple[str, str | None, tuple[str, ...]]] = []  # what, commit, paths taken
    experiments = ExperimentRepo(session)
    for experiment in (experiments.get(source) for source in sources):
        name = f"experiment {experiment.number}"
        if experiment.output_commit:
            under = f"{experiment.output_dir.strip('/')}/{spec.file_name}"
            looked.append((f"{name}'s outputs", experiment.output_commit, (spec.file_name, under)))
        else:
            looked.append((f"{name}'s files", experiment.start_commit, (spec.file_name,)))
    if not sources:
        head = versions.head(files.id)
        looked.append(("the project's files", head.id if head else None, (spec.file_name,)))
    for _, commit, accepted in looked:
        if commit is None:
            continue
        resolved = versions.resolve(files.id, commit)
        if trees is None:  # nothing to look in: the replica finds out
            return resolved.id, spec.file_name
        paths = {e.path for e in trees(resolved.tree).entries}
        for path in accepted:
            if path in paths:
                return resolved.id, path
    searched = " or ".join(what + ("" if commit else " (none)") for what, commit, _ in looked)
    raise InvalidInput(
        f"deploy task {spec.title!r}: file_name {spec.file_name!r} is not in {searched}",
        where=f"tasks.{spec.title}.file_name",
        hint="Sync the file with the project (`hw sync`), or have a parent task write it to "
        "its output folder; file_name is a path from the project's root.",
    )


# -- people and endings ----------------------------------------------------------------


def _alone(flow: Flow, title: str) -> Flow:
    """The flow as a run of ``title`` alone sees it: no relations into it."""
    kept = tuple(r for r in flow.relations if r.to != title)
    return flow.model_copy(update={"relations": kept})


def _own_tags(instance: RunInstance) -> dict[str, str]:
    tags = instance.data.get("tags")
    return {str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {}

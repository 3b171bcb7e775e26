"""Saving flow versions and starting runs: by hand, by a schedule, a trigger or a restart.

Everything a run starts from is written in one transaction: the run, a row per task, and the
instances it keeps from an earlier run (``--only`` with inputs, a restart). A file with
errors is refused before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from headwater.db.repos.activity import ActivityRepo
from headwater.db.repos.flowruns import RunRepo
from headwater.db.repos.flows import FlowRepo
from headwater.domain.entities import ActivityKind
from headwater.domain.errors import InvalidInput
from headwater.domain.flowruns import FlowRecord, FlowRun, FlowVersion, RunInstance, TaskState
from headwater.domain.flowspec import MAX_INSTANCES, find_refs, parse_flow, to_yaml
from headwater.domain.flowspec.model import ExecTask, Flow
from headwater.domain.grid import ParamAxis
from headwater.domain.ids import new_id
from headwater.engine.flows import NOT_IN_RUN, load_flow, run_flow_spec

Overrides = Mapping[str, Mapping[str, Sequence[str]]]


def save_flow(
    session: Session,
    project_id: str,
    text: str,
    *,
    file_name: str,
    user_id: str,
    username: str,
    max_instances: int = MAX_INSTANCES,
) -> tuple[FlowRecord, FlowVersion, bool]:
    """Parse (every problem named by line and key, a task over ``max_instances`` among
    them) and store as the flow's next version."""
    flow = parse_flow(text, source=file_name, max_instances=max_instances)
    record, version, created = FlowRepo(session).save_version(
        project_id, flow.title, text, len(flow.tasks), user_id=user_id, username=username
    )
    if created:
        ActivityRepo(session).record(
            project_id,
            username,
            ActivityKind.FLOW_CHANGED,
            f"flow {flow.title!r} version {version.number} saved",
            {"flow": flow.title, "version": version.number},
        )
    return record, version, created


def with_params(flow: Flow, overrides: Overrides) -> Flow:
    """The flow with some tasks' params replaced (``--param TASK.KEY=V1,V2``)."""
    tasks = []
    for task in flow.tasks:
        wanted = overrides.get(task.title)
        if wanted is None:
            tasks.append(task)
            continue
        if not isinstance(task, ExecTask):
            raise InvalidInput(
                f"task {task.title!r} is a {task.type} task and takes no params",
                where=f"params.{task.title}",
                hint="Only exec (custom) tasks have params.",
            )
        axes = {a.key: a for a in task.params}
        for key, values in wanted.items():
            if not values:
                raise InvalidInput(
                    f"no values for {task.title}.{key}",
                    where=f"params.{task.title}.{key}",
                    hint="Give at least one: --param 'Train.lr=0.1,0.01'.",
                )
            axes[key] = ParamAxis(key, tuple(str(v) for v in values))
        tasks.append(task.model_copy(update={"params": tuple(axes.values())}))
    unknown = set(overrides) - {t.title for t in flow.tasks}
    if unknown:
        raise InvalidInput(
            f"the flow has no task {sorted(unknown)[0]!r}",
            where="params",
            hint=f"Its tasks: {', '.join(t.title for t in flow.tasks)}.",
        )
    return flow.model_copy(update={"tasks": tuple(tasks)})


def start_run(
    session: Session,
    flow: FlowRecord,
    *,
    user_id: str,
    username: str,
    trigger: str,
    version: int | None = None,
    only: str | None = None,
    inputs_from: FlowRun | None = None,
    keep_from: FlowRun | None = None,
    params: Overrides | None = None,
    no_cache: bool = False,
    refresh: Sequence[str] = (),
    from_failed: bool = False,
    max_instances: int = MAX_INSTANCES,
) -> FlowRun:
    """A new run. ``params`` first saves the changed flow as a new version and runs that.
    ``no_cache`` and ``refresh`` (task titles) turn the step cache off for the run or for
    those tasks; ``from_failed`` (with ``keep_from``) reuses every success of that run."""
    repo = FlowRepo(session)
    runs = RunRepo(session)
    number = version or (keep_from.version if keep_from is not None else flow.latest_version)
    spec = load_flow(repo, flow, number)
    if params:
        changed = with_params(spec, params)
        if changed != spec:
            flow, saved, _ = save_flow(
                session,
                flow.project_id,
                to_yaml(changed),
                file_name=f"{flow.name} (changed params)",
                user_id=user_id,
                username=username,
                max_instances=max_instances,
            )
            number, spec = saved.number, changed
    titles = [t.title for t in spec.tasks]
    if only is not None and only not in titles:
        raise InvalidInput(
            f"flow {flow.name!r} has no task {only!r}",
            where="only",
            hint=f"Its tasks: {', '.join(titles)}.",
        )
    cache = _cache_choices(flow, titles, no_cache, refresh, keep_from if from_failed else None)
    run = runs.create_run(
        flow,
        number,
        titles,
        created_by=user_id,
        trigger=trigger,
        only=only,
        restart_of=keep_from.number if keep_from is not None else None,
        cache=cache,
    )
    if only is not None:
        _only(runs, run, spec, only, inputs_from)
    elif keep_from is not None:
        _keep(session, run, spec, keep_from, every_success=from_failed)
    ActivityRepo(session).record(
        flow.project_id,
        username,
        ActivityKind.RUN_STARTED,
        f"flow {flow.name!r} run {run.number} started ({trigger})",
        {"run": run.number, "flow": flow.name, "version": number, "trigger": trigger},
    )
    return run


def _copy(runs: RunRepo, run: FlowRun, source: FlowRun, titles: set[str]) -> None:
    """Carry ``titles``' instances of ``source`` over, parents renamed to the new copies."""
    copies = [i for i in runs.instances(source.id) if i.task in titles]
    renamed = {i.id: new_id() for i in copies}
    runs.add_instances(
        run.id,
        [
            replace(
                i,
                id=renamed[i.id],
                run_id=run.id,
                parents=tuple(renamed.get(p, p) for p in i.parents),
                data=_kept_note(i, source),
            )
            for i in copies
        ],
    )
    for title in titles:
        runs.move_task(run.id, title, TaskState.SUCCESS, reason=f"kept from run {source.number}")


def _kept_note(instance: RunInstance, source: FlowRun) -> dict[str, Any]:
    """A kept exec instance says where it came from, as a step-cache hit does (not the
    source's own cache note, which spoke of the source run)."""
    if not instance.experiment_id:
        return dict(instance.data)
    note = {
        "hit": True,
        "kept": True,
        "from_run": source.number,
        "from_instance": instance.id,
        "experiment_id": instance.experiment_id,
        "experiment_number": instance.number,
    }
    return {**instance.data, "cache": note}


def _needs_inputs(spec: Flow, only: str) -> None:
    """A task alone has no parents' tags: one whose parameters read them needs ``--inputs-from``
    (said here, before anything runs, not as a task failure about routes)."""
    task = spec.task(only)
    if not isinstance(task, ExecTask):
        return
    ancestors = spec.graph.ancestors(only)
    titles = [t.title for t in spec.tasks]
    refs = [
        ref
        for axis in task.params
        for value in axis.values
        for ref in find_refs(value, titles)
        if ref.task in ancestors
    ]
    if not refs:
        return
    parents = ", ".join(repr(p) for p in spec.graph.parents(only))
    read = sorted({repr(r.task) for r in refs})
    raise InvalidInput(
        f"task {only!r} reads tags of {', '.join(read)} ({refs[0]}), and with --only and no "
        "--inputs-from nothing before it runs to record them",
        where="inputs_from",
        hint=f"Add --inputs-from RUN: an earlier run of this flow whose {', '.join(read)} "
        f"succeeded (its parents: {parents}); `hw bakes` lists the runs.",
    )


def _only(runs: RunRepo, run: FlowRun, spec: Flow, only: str, inputs_from: FlowRun | None) -> None:
    ancestors = set(spec.graph.ancestors(only))
    if inputs_from is None:
        _needs_inputs(spec, only)
    if inputs_from is not None:
        states = {t.title: t.state for t in runs.tasks(inputs_from.id)}
        missing = sorted(a for a in ancestors if states.get(a) is not TaskState.SUCCESS)
        if missing:
            raise InvalidInput(
                f"run {inputs_from.number} has no successful {missing[0]!r} to take inputs from",
                where="inputs_from",
                hint="Pick a run whose earlier tasks succeeded (`hw bakes`), or run without "
                "--inputs-from.",
            )
        _copy(runs, run, inputs_from, ancestors)
    for task in spec.tasks:
        if task.title == only or (inputs_from is not None and task.title in ancestors):
            continue
        runs.move_task(
            run.id, task.title, TaskState.SKIPPED, reason=f"{NOT_IN_RUN} (--only {only})"
        )


def _cache_choices(
    flow: FlowRecord,
    titles: Sequence[str],
    no_cache: bool,
    refresh: Sequence[str],
    reuse: FlowRun | None,
) -> dict[str, Any]:
    """The run's step-cache choices as the run stores them; an unknown task is refused."""
    unknown = [t for t in refresh if t not in titles]
    if unknown:
        raise InvalidInput(
            f"flow {flow.name!r} has no task {unknown[0]!r} to refresh",
            where="refresh",
            hint=f"Its tasks: {', '.join(titles)}.",
        )
    out: dict[str, Any] = {}
    if no_cache:
        out["off"] = True
    if refresh:
        out["refresh"] = sorted(set(refresh))
    if reuse is not None:
        out["reuse_run"] = reuse.id
    return out


def _keep(
    session: Session, run: FlowRun, spec: Flow, source: FlowRun, *, every_success: bool = False
) -> None:
    """A restart keeps each task that succeeded before, unchanged with all its ancestors;
    ``every_success`` (``--from-failed``) keeps it even if its definition changed since."""
    if not source.state.terminal:
        raise InvalidInput(
            f"run {source.number} is still {source.state.value}",
            where="run",
            hint=f"Stop it first (`hw flow stop {source.number}`), or wait for it to end.",
        )
    runs = RunRepo(session)
    old = run_flow_spec(session, source)
    states = {t.title: t.state for t in runs.tasks(source.id)}
    old_titles = {t.title for t in old.tasks}
    kept: set[str] = set()
    for title in spec.graph.order():
        same = (
            title in old_titles
            and states.get(title) is TaskState.SUCCESS
            and old.task(title).type == spec.task(title).type
            and (every_success or old.task(title) == spec.task(title))
            and set(old.graph.parents(title)) == set(spec.graph.parents(title))
            and all(p in kept for p in spec.graph.parents(title))
        )
        if same:
            kept.add(title)
    if kept:
        _copy(runs, run, source, kept)

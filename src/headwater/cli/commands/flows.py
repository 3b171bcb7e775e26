"""``hw flow``: import flow files, run them, approve, stop and restart their runs, triggers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from headwater.cli.commands.bakes import inspect as inspect_run
from headwater.cli.context import ProjectOption, connect
from headwater.cli.inputs import confirm_or_yes
from headwater.cli.output import JsonOption, emit, paged, print_json, say, table
from headwater.domain.errors import HeadwaterError, InvalidInput

if TYPE_CHECKING:
    from rich.console import RenderableType

    from headwater.client import Client
    from headwater.schemas.flows import (
        FlowOut,
        FlowRunOut,
        FlowVersionOut,
        ParamOverrides,
        TriggerOut,
    )

app = typer.Typer(
    help="Flows: DAG pipelines from YAML files (import, run, versions, approvals, triggers).",
    no_args_is_help=True,
)
trigger_app = typer.Typer(help="Continual learning: run a flow on new data or a webhook.")
app.add_typer(trigger_app, name="trigger", no_args_is_help=True)

Name = Annotated[str, typer.Argument(metavar="NAME", help="The flow's name (its `flow:` title).")]
RunArg = Annotated[str, typer.Argument(metavar="RUN", help="The run's number or id.")]
TaskArg = Annotated[str, typer.Argument(metavar="TASK", help="The task's title.")]
FileOption = Annotated[
    Path | None, typer.Option("--file", "-f", help="A flow YAML file (seed 002's format).")
]
VersionOption = Annotated[
    int | None, typer.Option("--version", min=1, help="A version of the flow (default: latest).")
]
RestartVersionOption = Annotated[
    int | None,
    typer.Option(
        "--version",
        min=1,
        help="Run this version of the flow instead (default: the version the run used).",
    ),
]
ParamsOption = Annotated[
    list[str],
    typer.Option(
        "--param",
        metavar="TASK.KEY=V1,V2",
        help="Replace a task's parameter values (a grid); repeat for more.",
    ),
]
WaitOption = Annotated[
    bool, typer.Option("--wait", help="Wait until the run has ended; exit 1 unless it succeeded.")
]
TimeoutOption = Annotated[
    float | None,
    typer.Option("--timeout", min=0, help="With --wait: give up after this many seconds."),
]
CommentOption = Annotated[str, typer.Option("--comment", help="Why, for the run's record.")]

PARAM_HINT = "Write --param 'TASK.KEY=V1,V2', e.g. --param 'Train.lr=0.1,0.01'."


def parse_overrides(items: list[str], titles: list[str]) -> ParamOverrides:
    """``TASK.KEY=V1,V2`` options as ``{task: {key: values}}``.

    Titles and keys may both hold dots, so the task is the longest title of the flow that the
    option starts with (followed by a dot), not the text before the first dot.
    """
    from headwater.domain.grid import parse_param_option

    out: ParamOverrides = {}
    by_length = sorted(titles, key=len, reverse=True)
    for item in items:
        lhs = item.partition("=")[0]
        title = next((t for t in by_length if lhs.startswith(t + ".")), None)
        if title is None:
            known = ", ".join(repr(t) for t in titles) or "none"
            raise InvalidInput(
                f"{item!r} names no task of this flow",
                where="--param",
                hint=f"{PARAM_HINT} The flow's tasks: {known}.",
            )
        axis = parse_param_option(item[len(title) + 1 :], where=f"--param {item}")
        out.setdefault(title, {})[axis.key] = list(axis.values)
    return out


def _titles(client: Client, name: str, version: int | None, project: str | None) -> list[str]:
    from headwater.domain.flowspec import parse_flow

    text = client.flows.export(name, version, project=project)
    # the server checked its instance counts against its own limit when it stored it
    stored = parse_flow(text, source=f"{name} (stored)", max_instances=2**62)
    return [t.title for t in stored.tasks]


def _finish(
    client: Client,
    run: FlowRunOut,
    *,
    wait: bool,
    timeout: float | None,
    as_json: bool,
    project: str | None,
) -> None:
    """Print the started run, or wait for it and print how it ended (exit 1 unless success)."""
    from headwater.cli.runviews import run_view, succeeded, wait_for

    if not wait:
        emit(
            run,
            as_json,
            lambda r: (
                f"Started run {r.number} of flow {r.flow!r} (version {r.version}). "
                f"Follow it: hw inspect {r.number}"
            ),
        )
        return
    if run.status.terminal:  # it ended as it started (every task cached): nothing to wait for
        ended = run
    else:
        if not as_json:
            say(f"Started run {run.number} of flow {run.flow!r}; waiting for it to end.")
        ended = wait_for(client, run, quiet=as_json, timeout=timeout, project=project)
    emit(ended, as_json, run_view)
    if not succeeded(ended):
        raise typer.Exit(1)


def _imported(flow: FlowOut) -> str:
    if flow.created:
        return f"Imported flow {flow.name!r} as version {flow.latest_version}."
    return f"Flow {flow.name!r} is unchanged: still version {flow.latest_version}."


@app.command("import")
def import_flow(
    file: Annotated[Path, typer.Option("--file", "-f", help="The flow YAML file.")],
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import a flow file; a file that changed makes a new version, an unchanged one none."""
    with connect(project) as client:
        flow = client.flows.import_file(file, project=project)
    emit(flow, as_json, _imported)


@app.command("run")
def run(
    name: Annotated[
        str | None, typer.Argument(metavar="NAME", help="A flow already imported (or use --file).")
    ] = None,
    file: FileOption = None,
    version: VersionOption = None,
    only: Annotated[
        str | None, typer.Option("--only", metavar="TASK", help="Run just this task.")
    ] = None,
    inputs_from: Annotated[
        str | None,
        typer.Option(
            "--inputs-from", metavar="RUN", help="With --only: its inputs from this earlier run."
        ),
    ] = None,
    param: ParamsOption = [],  # noqa: B006 - Typer reads the default
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Run every task; reuse no cached result.")
    ] = False,
    refresh: Annotated[
        list[str],
        typer.Option(
            "--refresh", metavar="TASK", help="Run this task again whatever is cached; repeat."
        ),
    ] = [],  # noqa: B006 - Typer reads the default
    wait: WaitOption = False,
    timeout: TimeoutOption = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run a flow: NAME, or --file (imported first, then run).

    Tasks whose inputs are unchanged reuse their earlier result (the step cache: `cache:` on
    a task); --no-cache or --refresh TASK run them again."""
    if (name is None) == (file is None):
        raise typer.BadParameter("give a flow NAME or --file FILE, not both", param_hint="NAME")
    if inputs_from is not None and only is None:
        raise typer.BadParameter("--inputs-from goes with --only TASK", param_hint="--inputs-from")
    with connect(project) as client:
        if file is not None:
            flow = client.flows.import_file(file, project=project)
            if not as_json:
                say(_imported(flow))
            name = flow.name
        assert name is not None
        overrides = parse_overrides(param, _titles(client, name, version, project)) if param else {}
        started = client.flows.run(
            name,
            version=version,
            only=only,
            inputs_from=inputs_from,
            params=overrides,
            no_cache=no_cache,
            refresh=refresh,
            project=project,
        )
        _finish(client, started, wait=wait, timeout=timeout, as_json=as_json, project=project)


def flows_table(flows: list[FlowOut]) -> RenderableType:
    from rich.text import Text

    if not flows:
        return Text("No flows yet. Import one: hw flow import --file flow.yaml")
    rows = [
        (
            f.name,
            f.latest_version,
            f.runs,
            f.recurring or f.schedule or "",
            f.next_run_at,
            f.updated_at,
        )
        for f in flows
    ]
    return table(["NAME", "VERSION", "RUNS", "SCHEDULE", "NEXT RUN", "UPDATED"], rows)


@app.command("list")
def list_flows(
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """The project's flows."""
    with connect(project) as client:
        page = client.flows.list(offset=offset, limit=limit, project=project)

    emit(page, as_json, lambda p: paged(p, flows_table(p.items)))


def versions_table(versions: list[FlowVersionOut]) -> RenderableType:
    from rich.text import Text

    if not versions:
        return Text("No versions.")
    rows = [(v.number, v.created_at, v.created_by, v.tasks) for v in versions]
    return table(["VERSION", "CREATED", "BY", "TASKS"], rows)


@app.command("versions")
def versions(name: Name, project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """The versions of a flow, one per import that changed the file."""
    with connect(project) as client:
        found = client.flows.versions(name, project=project)
    emit(found, as_json, versions_table)


@app.command("export")
def export(
    name: Name,
    version: VersionOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the YAML here, not to stdout.")
    ] = None,
    project: ProjectOption = None,
) -> None:
    """Print a version of a flow as YAML (the latest by default); it imports back unchanged."""
    with connect(project) as client:
        text = client.flows.export(name, version, project=project)
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise HeadwaterError(
            f"cannot write the flow: {exc.strerror or exc}",
            where=str(output),
            hint="Check that the folder exists and is writable.",
        ) from exc


@app.command("delete")
def delete(
    name: Name,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    project: ProjectOption = None,
) -> None:
    """Delete a flow with its versions and triggers."""
    confirm_or_yes(f"Delete flow {name!r} and all its versions?", yes=yes)
    with connect(project) as client:
        client.flows.delete(name, project=project)
    say(f"Deleted flow {name!r}.")


@app.command("approve")
def approve(
    run_ref: RunArg,
    task: TaskArg,
    comment: CommentOption = "",
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve a task pending approval: the run goes on."""
    with connect(project) as client:
        found = client.flows.approve(run_ref, task, comment=comment, project=project)
    emit(found, as_json, lambda r: f"Approved {task!r} in run {r.number}; it is {r.status.value}.")


@app.command("reject")
def reject(
    run_ref: RunArg,
    task: TaskArg,
    comment: CommentOption = "",
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Reject a task pending approval: it is aborted, and so is the run."""
    with connect(project) as client:
        found = client.flows.reject(run_ref, task, comment=comment, project=project)
    emit(found, as_json, lambda r: f"Rejected {task!r} in run {r.number}; it is {r.status.value}.")


# `hw flow inspect RUN` is `hw inspect RUN` (seed 003 names the latter; both read the same)
app.command("inspect")(inspect_run)


@app.command("stop")
def stop(run_ref: RunArg, project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """Stop a run: its running instances are stopped, the tasks not started are aborted."""
    from headwater.cli.runviews import headline

    with connect(project) as client:
        found = client.flows.stop(run_ref, project=project)
    emit(found, as_json, lambda r: f"{headline(r)}.")


@app.command("restart")
def restart(
    run_ref: RunArg,
    version: RestartVersionOption = None,
    param: ParamsOption = [],  # noqa: B006 - Typer reads the default
    from_failed: Annotated[
        bool,
        typer.Option(
            "--from-failed",
            help="Reuse every success of RUN (tasks and instances), whatever changed since.",
        ),
    ] = False,
    wait: WaitOption = False,
    timeout: TimeoutOption = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """A new run of an ended one that keeps every task that succeeded and did not change.

    It runs the version the old run used, not the latest: give --version N to run a fix you
    imported since. --from-failed goes on from where RUN failed: every task and instance that
    succeeded is reused even if its files changed; only what failed or never ran runs."""
    with connect(project) as client:
        overrides: ParamOverrides = {}
        if param:
            old = client.flows.inspect(run_ref, project=project)
            titles = _titles(client, old.flow, version or old.version, project)
            overrides = parse_overrides(param, titles)
        started = client.flows.restart(
            run_ref, version=version, params=overrides, from_failed=from_failed, project=project
        )
        _finish(client, started, wait=wait, timeout=timeout, as_json=as_json, project=project)


@app.command("clear-cache")
def clear_cache(
    name: Name,
    task: Annotated[
        str | None, typer.Argument(metavar="[TASK]", help="Only this task's results.")
    ] = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Forget the step cache's results of a flow (or one task): the next run runs them."""
    with connect(project) as client:
        done = client.flows.clear_cache(name, task, project=project)
    what = f"task {task!r} of flow {name!r}" if task else f"flow {name!r}"
    emit(done, as_json, lambda d: f"Cleared {d.cleared} cached result(s) of {what}.")


def triggers_table(triggers: list[TriggerOut]) -> RenderableType:
    from rich.text import Text

    if not triggers:
        return Text("No triggers. Add one: hw flow trigger add NAME --dataset D (or --webhook)")
    rows = [
        (t.id, t.kind, t.dataset or t.url or "", t.created_at, t.last_fired_at) for t in triggers
    ]
    return table(["ID", "KIND", "ON", "CREATED", "LAST FIRED"], rows)


def _trigger_added(trigger: TriggerOut) -> str:
    if trigger.kind == "dataset":
        return (
            f"Trigger {trigger.id}: each new version of dataset {trigger.dataset!r} runs "
            f"flow {trigger.flow!r}."
        )
    lines = [f"Trigger {trigger.id}: a POST to this URL runs flow {trigger.flow!r}:"]
    lines.append(f"  {trigger.url}")
    if trigger.token:
        lines.append(f"Its token (shown only now): {trigger.token}")
    return "\n".join(lines)


@trigger_app.command("add")
def trigger_add(
    name: Name,
    dataset: Annotated[
        str | None, typer.Option("--dataset", help="Run on each new version of this dataset.")
    ] = None,
    webhook: Annotated[
        bool, typer.Option("--webhook", help="Run when a webhook URL is called.")
    ] = False,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run the flow's latest version on new data (--dataset D) or a webhook (--webhook)."""
    if (dataset is None) == (not webhook):
        raise typer.BadParameter(
            "give --dataset NAME or --webhook, one of them", param_hint="--dataset"
        )
    with connect(project) as client:
        added = client.flows.add_trigger(name, dataset=dataset, project=project)
    emit(added, as_json, _trigger_added)


@trigger_app.command("list")
def trigger_list(name: Name, project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """The flow's triggers."""
    with connect(project) as client:
        found = client.flows.triggers(name, project=project)
    emit(found, as_json, triggers_table)


@trigger_app.command("remove")
def trigger_remove(
    name: Name,
    trigger_id: Annotated[str, typer.Argument(metavar="ID", help="The trigger's id.")],
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remove a trigger: new data or webhook calls no longer run the flow."""
    with connect(project) as client:
        client.flows.remove_trigger(name, trigger_id, project=project)
    if as_json:
        print_json({"removed": trigger_id})
        return
    say(f"Removed trigger {trigger_id} of flow {name!r}.")

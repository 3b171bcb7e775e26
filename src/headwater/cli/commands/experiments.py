"""``hw run`` and ``hw experiments``: grids of experiments, their logs and metrics."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from headwater.cli.context import ProjectOption, connect
from headwater.cli.output import (
    JsonOption,
    emit,
    fields,
    paged,
    print_json,
    say,
    short,
    stderr,
    table,
)
from headwater.domain.jobs import JobState

if TYPE_CHECKING:
    from rich.console import RenderableType

    from headwater.client import Client
    from headwater.domain.grid import ParamAxis
    from headwater.schemas.experiments import ExperimentOut, MetricSeries

app = typer.Typer(help="Experiments: list, show, logs, stop, metrics.", no_args_is_help=True)

Ref = Annotated[str, typer.Argument(metavar="ID", help="The experiment's number or id.")]


def _axes(params: list[str], grid: Path | None) -> list[ParamAxis]:
    from headwater.domain.grid import parse_grid_file, parse_param_option

    axes = [parse_param_option(p) for p in params]
    if grid is not None:
        axes += parse_grid_file(grid.read_text(), source=str(grid))
    return axes


def experiments_table(items: list[ExperimentOut]) -> RenderableType:
    from rich.text import Text

    if not items:
        return Text("No experiments yet. Start one: hw run -- python train.py")
    keys = sorted({k for e in items for k in e.tags})[:6]
    metrics = sorted({k for e in items for k in e.latest_metrics})[:5]
    rows = [
        (
            e.number,
            e.state.value,
            " ".join(f"{k}={v}" for k, v in {**e.params, **e.logged_params}.items()),
            *(e.tags.get(k, "") for k in keys),
            *(_metric(e.latest_metrics.get(k)) for k in metrics),
            e.compute or "",
            e.reason or "",
        )
        for e in items
    ]
    heads = ["#", "STATE", "PARAMS", *keys, *metrics, "COMPUTE", "REASON"]
    return table(heads, rows)


def _metric(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def command_line(argv: list[str]) -> str:
    """One argument is a shell command line as typed; several are one argv, quoted for the shell.

    ``hw run -- python -c "print('ok')"`` must reach Python as three words, not as a line
    the shell re-splits; ``hw run -- "python a.py | tee log"`` keeps its pipe.
    """
    return argv[0] if len(argv) == 1 else shlex.join(argv)


def run(
    command: Annotated[
        list[str],
        typer.Argument(
            metavar="-- CMD...",
            help="What to run: one argument is a shell command line, several are one argv.",
        ),
    ],
    param: Annotated[
        list[str],
        typer.Option("--param", help="KEY=V1,V2 or KEY=1..100; repeat for a grid."),
    ] = [],  # noqa: B006 - Typer reads the default
    grid: Annotated[
        Path | None, typer.Option("--grid", help="A cnvrg grid file (parameters: [...]).")
    ] = None,
    compute: Annotated[
        list[str], typer.Option("--compute", help="Compute templates to try, in order.")
    ] = [],  # noqa: B006
    output_dir: Annotated[
        str | None, typer.Option("--output-dir", help="Folder whose files become artifacts.")
    ] = None,
    title: Annotated[str, typer.Option(help="A title for the experiments.")] = "",
    dataset: Annotated[
        list[str],
        typer.Option(
            "--dataset",
            help="A dataset to put in data/NAME/: NAME (its latest version), NAME@COMMIT "
            "or NAME:QUERY (a saved query's files).",
        ),
    ] = [],  # noqa: B006
    git_branch: Annotated[
        str | None,
        typer.Option("--git-branch", help="Branch of the project's linked Git repository."),
    ] = None,
    git_commit: Annotated[
        str | None,
        typer.Option("--git-commit", help="Commit of the project's linked Git repository."),
    ] = None,
    no_sync: Annotated[
        bool, typer.Option("--no-sync", help="Do not sync the linked folder first.")
    ] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until every one has ended.")] = False,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run CMD as one experiment per combination of parameters (a grid search)."""
    from headwater.client.folders import sync_here
    from headwater.client.linked import linked_project
    from headwater.domain.grid import combinations

    runs = combinations(_axes(param, grid))
    joined = command_line(command)
    with connect(project) as client:
        if not no_sync and linked_project() is not None:
            sync_here(client, message=f"hw run {joined}"[:200])
        made = client.experiments.create(
            joined,
            runs,
            title=title,
            computes=compute,
            output_dir=output_dir,
            options={"datasets": dataset} if dataset else None,
            git_branch=git_branch,
            git_commit=git_commit,
            project=project,
        )
        if not as_json:
            say(f"Started {len(made)} experiment(s): " + ", ".join(str(e.number) for e in made))
        if wait:
            made = client.experiments.wait(made, project=project)
    emit(made, as_json, experiments_table)
    if wait and any(e.state is not JobState.SUCCESS for e in made):
        raise typer.Exit(1)


@app.command("list")
def list_experiments(
    state: Annotated[JobState | None, typer.Option(help="Only those in this state.")] = None,
    filter: Annotated[
        str | None,
        typer.Option(
            "--filter",
            metavar="EXPR",
            help="Only those that match, e.g. 'lr > 0.1 and accuracy >= 0.9', "
            "'status == failed', 'metrics.loss.min < 0.2'.",
        ),
    ] = None,
    sort: Annotated[
        str | None,
        typer.Option(
            "--sort",
            metavar="COL",
            help="Order by a column: number, title, status, created, duration, or any param, "
            "tag or metric (params.lr, metrics.loss.min, accuracy). Lowest first unless --desc.",
        ),
    ] = None,
    desc: Annotated[
        bool | None,
        typer.Option("--desc/--asc", help="Highest first (the default without --sort)."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """The project's experiments, newest first (one page; --offset for more); --filter and
    --sort run on the server, so the best of thousands of runs is one call."""
    descending = desc if desc is not None else sort is None
    with connect(project) as client:
        page = client.experiments.list(
            state=state,
            filter=filter,
            sort=sort or "number",
            desc=descending,
            offset=offset,
            limit=limit,
            project=project,
        )
    emit(page, as_json, lambda p: paged(p, experiments_table(p.items)))


@app.command("show")
def show(ref: Ref, project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """One experiment: state, parameters, tags, latest metrics, artifacts."""
    with connect(project) as client:
        found = client.experiments.get(ref, project=project)

    def view(e: ExperimentOut) -> RenderableType:
        return fields(
            [
                ("Experiment", f"{e.number} ({e.id})"),
                ("State", e.state.value + (f": {e.reason}" if e.reason else "")),
                ("Command", e.command),
                ("Parameters", e.params),
                ("Logged params", e.logged_params),
                ("Tags", e.tags),
                ("Metrics", e.latest_metrics),
                ("Compute", e.compute),
                ("Exit code", e.exit_code),
                ("Started", e.started_at),
                ("Ended", e.ended_at),
                ("Restarts", e.restarts),
                ("Files", short(e.start_commit)),
                ("Artifacts", f"{short(e.output_commit)} on {e.branch}"),
            ]
        )

    emit(found, as_json, view)


@app.command("logs")
def logs(
    ref: Ref,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new output.")
    ] = False,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print an experiment's output (stdout and stderr, in order)."""
    with connect(project) as client:
        if as_json:
            print_json(_all_logs(client, ref, project))
            return
        printed = False
        if follow:
            for page in client.experiments.follow(ref, project=project):
                for chunk in page.chunks:
                    _write(chunk.stream, chunk.text)
                printed = True
        else:
            after = 0
            while True:
                page = client.experiments.logs(ref, after=after, limit=5000, project=project)
                for chunk in page.chunks:
                    _write(chunk.stream, chunk.text)
                if not page.chunks:
                    break
                printed, after = True, page.next_seq
        if not printed:
            _say_if_never_ran(client.experiments.get(ref, project=project))


def _say_if_never_ran(found: ExperimentOut) -> None:
    """No output at all: an experiment that ended before it started says so (on stderr), else
    an empty answer would read as a task that printed nothing."""
    if found.started_at is not None or not found.state.terminal:
        return
    if found.state is JobState.ABORTED:
        why = "it was stopped while queued"
    else:
        why = f"it ended {found.state.value} before it started" + (
            f" ({found.reason})" if found.reason else ""
        )
    stderr().print(f"Experiment {found.number} never ran: {why}.", markup=False, soft_wrap=True)


def _all_logs(client: Client, ref: str, project: str | None) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    after = 0
    while True:
        page = client.experiments.logs(ref, after=after, limit=5000, project=project)
        out += [c.model_dump(mode="json") for c in page.chunks]
        if not page.chunks:
            return out
        after = page.next_seq


def _write(stream: str, text: str) -> None:
    target = sys.stderr if stream == "stderr" else sys.stdout
    target.write(text)
    target.flush()


@app.command("stop")
def stop(ref: Ref, project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """Stop an experiment: a queued one at once, a running one with its whole process group."""
    with connect(project) as client:
        found = client.experiments.stop(ref, project=project)
    emit(found, as_json, lambda e: f"Experiment {e.number} is {e.state.value}.")


@app.command("metrics")
def metrics(
    ref: Ref,
    key: Annotated[str | None, typer.Option(help="Only this metric.")] = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """An experiment's metrics: points per key, with a small chart of each."""
    with connect(project) as client:
        series = client.experiments.metrics(ref, key=key, project=project)
    emit(series, as_json, metrics_view)


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int = 40) -> str:
    if not values:
        return ""
    step = max(1, len(values) // width)
    sampled = values[::step][-width:]
    low, high = min(sampled), max(sampled)
    span = (high - low) or 1.0
    return "".join(SPARKS[int((v - low) / span * (len(SPARKS) - 1))] for v in sampled)


def metrics_view(series: list[MetricSeries]) -> RenderableType:
    from rich.text import Text

    if not series:
        return Text("No metrics logged yet.")
    rows = [
        (s.key, len(s.values), s.values[-1], min(s.values), max(s.values), sparkline(s.values))
        for s in series
    ]
    return table(["METRIC", "POINTS", "LAST", "MIN", "MAX", "CHART"], rows)

"""``hw live``: the jobs named in ``.headwater/live.yaml`` (seed 003, live mode), by name.

Each run is an experiment titled ``live:<job>``; these commands find the file from the working
directory upwards and act on each job's latest run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from headwater.cli.commands import experiments
from headwater.cli.context import ProjectOption, connect
from headwater.cli.output import JsonOption, emit, print_json, say, table, warn
from headwater.domain.errors import NotFound
from headwater.domain.jobs import JobState

if TYPE_CHECKING:
    from rich.console import RenderableType

    from headwater.client.live import LiveRow
    from headwater.domain.live import LiveJob, LiveSpec

app = typer.Typer(
    help="Live jobs from .headwater/live.yaml: run, ps, logs, kill.", no_args_is_help=True
)

JobArg = Annotated[str, typer.Argument(metavar="JOB", help="A job name from live.yaml.")]
FileOption = Annotated[
    Path | None,
    typer.Option(
        "--file", help="The live.yaml to use (default: .headwater/live.yaml here or above)."
    ),
]

# Why each key a job may set has no effect yet, and what to do instead.
_UNSUPPORTED = {
    "image": "Headwater does not run jobs in container images yet: the command runs in the "
    "machine's own environment (with the project's requirements.txt installed).",
    "volumes": "Headwater does not mount volumes yet: put data in a dataset (`hw dataset "
    "push`, seen at data/NAME/) or in the project's files.",
}


def _warn_unsupported(job: LiveJob) -> None:
    """Keys the executor cannot honour are named aloud, never dropped silently."""
    for item in job.unsupported:
        warn(
            f"{item.where}: {item.key} is not supported yet and is ignored. "
            + _UNSUPPORTED[item.key]
        )


@app.command("run")
def run(
    job: JobArg,
    force: Annotated[
        bool, typer.Option("--force", help="Start it even if its latest run is still going.")
    ] = False,
    follow: Annotated[
        bool,
        typer.Option("--follow", "-f", help="Print its output until it ends (as detach: false)."),
    ] = False,
    no_sync: Annotated[
        bool, typer.Option("--no-sync", help="Do not sync the linked folder first.")
    ] = False,
    file: FileOption = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Start JOB: sync the project folder, then run its command as an experiment."""
    from headwater.client.folders import sync_here
    from headwater.client.linked import linked_project
    from headwater.client.live import load_live_file
    from headwater.domain.live import live_status

    spec = load_live_file(file)
    chosen = spec.job(job)
    _warn_unsupported(chosen)
    root = Path(spec.source).resolve().parent.parent  # FOLDER/.headwater/live.yaml
    with connect(project) as client:
        if not no_sync and linked_project(root) is not None:
            sync_here(client, message=f"hw live run {job}", start=root)
        made = client.live.run(chosen, force=force, project=project)
    if as_json:  # one document: the started run, never its output
        print_json(made)
        return
    port = f" on port {chosen.http_port}" if chosen.http_port else ""
    say(f"Started live job {job}{port}: experiment {made.number} ({made.id}).")
    if chosen.detach and not follow:
        say(f"Follow it with: hw live logs {job} -f")
        return
    experiments.logs(made.id, follow=True, project=project, as_json=False)
    with connect(project) as client:
        ended = client.experiments.get(made.id, project=project)
    say(f"Live job {job} {live_status(ended.state).value}.")
    if ended.state is not JobState.SUCCESS:
        raise typer.Exit(1)


@app.command("ps")
def ps(file: FileOption = None, project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """Every job defined in live.yaml: its status, raw ID and when its latest run moved."""
    from headwater.client.live import load_live_file

    spec = load_live_file(file)
    with connect(project) as client:
        rows = client.live.ps(spec, project=project)
    emit(rows, as_json, lambda r: _ps_table(r, spec))


def _ps_table(rows: list[LiveRow], spec: LiveSpec) -> RenderableType:
    from rich.console import Group
    from rich.text import Text

    from headwater.domain.live import LiveStatus

    styles = {
        LiveStatus.UNKNOWN: "dim",
        LiveStatus.PENDING: "cyan",
        LiveStatus.RUNNING: "green",
        LiveStatus.SUCCEEDED: "bold green",
        LiveStatus.FAILED: "red",
        LiveStatus.CANCELLED: "yellow",
    }
    view = table(
        ["JOB", "STATUS", "RAW ID", "#", "WHEN", "HTTP PORT"],
        [
            (
                r.job,
                Text(r.status.value, style=styles[r.status]),
                r.id or "N/A",
                r.number,
                r.when or "N/A",
                r.http_port,
            )
            for r in rows
        ],
    )
    note = f"{len(rows)} job(s) in {spec.source}. Start one: hw live run JOB"
    return Group(view, Text(note, style="dim"))


@app.command("logs")
def logs(
    job: JobArg,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new output.")
    ] = False,
    file: FileOption = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print the output of JOB's latest run (stdout and stderr, in order)."""
    from headwater.client.live import load_live_file

    spec = load_live_file(file)
    name = spec.job(job).name
    with connect(project) as client:
        latest = client.live.latest(name, project=project)
    if latest is None:
        _never_ran(name)
    experiments.logs(latest.id, follow=follow, project=project, as_json=as_json)


@app.command("kill")
def kill(
    job: Annotated[str, typer.Argument(metavar="JOB", help="A job name from live.yaml, or ALL.")],
    file: FileOption = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stop JOB's latest run (ALL: every job that is pending or running)."""
    from headwater.client.live import load_live_file
    from headwater.domain.live import live_status

    spec = load_live_file(file)
    names = list(spec.jobs) if job == "ALL" else [spec.job(job).name]
    done: list[dict[str, object]] = []
    with connect(project) as client:
        for name in names:
            before = client.live.latest(name, project=project)
            after = client.live.kill(name, project=project)
            status = live_status(after.state if after else None)
            killed = before is not None and live_status(before.state).active
            done.append(
                {
                    "job": name,
                    "killed": killed,
                    "status": status.value,
                    "id": after.id if after else None,
                    "number": after.number if after else None,
                }
            )
    emit(done, as_json, _kill_view)


def _kill_view(done: list[dict[str, object]]) -> str:
    lines = []
    for d in done:
        if d["killed"]:
            lines.append(f"Killed live job {d['job']} (experiment {d['number']}): {d['status']}.")
        elif d["id"] is None:
            lines.append(f"Live job {d['job']} has never run: nothing to kill.")
        else:
            lines.append(
                f"Live job {d['job']} is not running ({d['status']}, experiment "
                f"{d['number']}): nothing to kill."
            )
    return "\n".join(lines)


def _never_ran(name: str) -> NoReturn:
    raise NotFound(
        f"live job {name!r} has never run",
        where=f"jobs.{name}",
        hint=f"Start it with `hw live run {name}`.",
    )

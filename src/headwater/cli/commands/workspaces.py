"""``hw workspace``: JupyterLab for a project, behind the server's login (issue 15).

A workspace is named by its name (unique among the project's running ones) or its id. It is
opened through the server's proxy with your login; saving commits its changes as a new version
of the project's files, as `hw sync` does."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from headwater.cli.browser import open_workspace_url
from headwater.cli.context import ProjectOption, connect
from headwater.cli.output import JsonOption, aside, emit, print_json, say

if TYPE_CHECKING:  # annotations only: the schemas load with the SDK, when a command runs
    from rich.console import RenderableType

    from headwater.schemas.workspaces import WorkspaceOut, WorkspaceSaved

app = typer.Typer(
    help="Workspaces: JupyterLab on the project's files, opened with your Headwater login.",
    no_args_is_help=True,
)

Name = Annotated[str, typer.Argument(metavar="NAME", help="The workspace's name or id.")]
Message = Annotated[
    str, typer.Option("--message", "-m", help="The new version's message.", show_default=False)
]
WAIT_TIMEOUT = 300.0


@app.command()
def start(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Unique among the running ones.")
    ] = "lab",
    compute: Annotated[
        str | None, typer.Option("--compute", help="A compute template; default: the project's.")
    ] = None,
    dataset: Annotated[
        list[str] | None,
        typer.Option(
            "--dataset",
            metavar="D",
            help="Mounted under data/: NAME, NAME@COMMIT or NAME:QUERY (repeat it).",
        ),
    ] = None,
    version: Annotated[
        str | None,
        typer.Option("--version", help="A version of the project's files; default: the newest."),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Return once JupyterLab answers (or it failed).")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds --wait waits at most.")
    ] = WAIT_TIMEOUT,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Start JupyterLab on the project's files (and datasets under data/), as a job."""
    with connect(project) as client:
        started = client.workspaces.start(
            name, compute=compute, datasets=dataset or [], version=version
        )
        if wait:
            if not as_json:
                aside(
                    f"Starting workspace {started.name} (experiment "
                    f"#{started.experiment_number})..."
                )
            started = client.workspaces.wait(started.id, timeout=timeout)
        url = client.workspaces.url(started)
    if as_json:
        print_json(started)
    elif wait:
        say(f"Workspace {started.name} is running: {url}")
    else:
        say(
            f"Workspace {started.name} is {started.state.value} (experiment "
            f"#{started.experiment_number}); it opens at {url} once running: "
            f"`hw workspace open {started.name}`."
        )


@app.command("list")
def list_workspaces(
    active: Annotated[
        bool, typer.Option("--active", help="Only starting or running ones.")
    ] = False,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """The project's workspaces, newest first: state, when culled, last save."""
    with connect(project) as client:
        found = client.workspaces.list(active=active)
    emit(found, as_json, _list_view)


def _list_view(found: list[WorkspaceOut]) -> RenderableType:
    from headwater.cli.output import short, table

    if not found:
        return "No workspaces yet: `hw workspace start` starts one."
    rows = [
        (
            w.name,
            w.state.value,
            f"#{w.experiment_number}",
            w.created_at,
            w.culls_at or "",
            short(w.saved_commit) if w.saved_commit else "",
            w.reason or "",
            w.url,
        )
        for w in found
    ]
    headers = ["NAME", "STATE", "EXPERIMENT", "STARTED", "CULLED AT", "SAVED", "REASON", "URL"]
    return table(headers, rows)


@app.command("open")
def open_workspace(
    name: Name,
    browser: Annotated[
        bool,
        typer.Option(
            "--browser/--no-browser", help="Open it in a browser when there is a display."
        ),
    ] = True,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print the workspace's URL, and open it in a browser when there is a display."""
    with connect(project) as client:
        shown = client.workspaces.show(name)
        url = client.workspaces.url(shown)
    open_workspace_url(
        shown,
        url,
        browser=browser,
        as_json=as_json,
        noun="workspace",
        command="workspace",
        again=f"Start it again: `hw workspace start {shown.name}`.",
        waiting="the page answers once it runs.",
    )


@app.command()
def save(
    name: Name,
    message: Message = "",
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Commit the workspace's changes as a new version of the project's files."""
    with connect(project) as client:
        saved = client.workspaces.save(name, message)
    emit(saved, as_json, _saved_view)


@app.command()
def stop(
    name: Name,
    discard: Annotated[
        bool, typer.Option("--discard", help="Stop without saving the workspace's changes.")
    ] = False,
    message: Message = "",
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Save (unless --discard) and stop it, freeing its compute; a conflict stops nothing."""
    with connect(project) as client:
        saved = client.workspaces.stop(name, discard=discard, message=message)
    emit(saved, as_json, _saved_view)


def _saved_view(saved: WorkspaceSaved) -> str:
    from headwater.cli.output import short

    w = saved.workspace
    head = f"Workspace {w.name} is {w.state.value}"
    if saved.commit is None:
        return f"{head}; nothing was saved."
    if saved.unchanged:
        return f"{head}; nothing changed since version {short(saved.commit)}."
    merged = " (merged with what others synced meanwhile)" if saved.merged else ""
    return f"{head}; saved as version {short(saved.commit)}{merged}: `hw files versions` lists it."

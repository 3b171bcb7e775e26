"""``hw tensorboard``: TensorBoard over experiments' logs, behind the server's login (issue 15).

It runs as a job, like a workspace, and opens through the same proxy with your login. Each
experiment's ``tensorboard/`` artifacts are a run named ``<number>/tensorboard``. The project
setting ``tensorboard`` starts one with every experiment (``hw tensorboard open --experiment N``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from headwater.cli.browser import open_workspace_url
from headwater.cli.context import ProjectOption, connect
from headwater.cli.output import JsonOption, aside, emit, print_json, say

if TYPE_CHECKING:
    from rich.console import RenderableType

    from headwater.schemas.workspaces import WorkspaceOut

app = typer.Typer(
    help="TensorBoard over experiments' logs, opened with your Headwater login.",
    no_args_is_help=True,
)

WAIT_TIMEOUT = 300.0
Name = Annotated[str, typer.Argument(metavar="NAME", help="The TensorBoard's name or id.")]


def experiment_numbers(text: str) -> list[int]:
    """``3,4,7`` as numbers; a word that is not one is refused with where it is."""
    from headwater.domain.errors import InvalidInput

    numbers = []
    for part in filter(None, (p.strip().lstrip("#") for p in text.split(","))):
        if not part.isdigit():
            raise InvalidInput(
                f"{part!r} is not an experiment number",
                where="--experiments",
                hint="Give numbers separated by commas: --experiments 3,4,7.",
            )
        numbers.append(int(part))
    return numbers


@app.command()
def start(
    experiments: Annotated[
        str | None,
        typer.Option("--experiments", metavar="N,N", help="Experiment numbers: 3,4,7."),
    ] = None,
    flow_run: Annotated[
        str | None, typer.Option("--flow-run", metavar="R", help="Every experiment of a run.")
    ] = None,
    name: Annotated[
        str, typer.Option("--name", help="Unique among the running workspaces.")
    ] = "tensorboard",
    compute: Annotated[
        str | None, typer.Option("--compute", help="A compute template; default: the project's.")
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Return once TensorBoard answers (or it failed).")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds --wait waits at most.")
    ] = WAIT_TIMEOUT,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Start TensorBoard over the experiments' tensorboard/ logs, as a job."""
    numbers = experiment_numbers(experiments) if experiments else []
    with connect(project) as client:
        started = client.tensorboards.start(
            name, experiments=numbers, flow_run=flow_run, compute=compute
        )
        if wait:
            if not as_json:
                aside(f"Starting TensorBoard {started.name}...")
            started = client.tensorboards.wait(started.id, timeout=timeout)
        url = client.tensorboards.url(started)
    if as_json:
        print_json(started)
    elif wait:
        say(f"TensorBoard {started.name} is running: {url}")
    else:
        say(
            f"TensorBoard {started.name} is {started.state.value}; it opens at {url} once "
            f"running: `hw tensorboard open {started.name}`."
        )


@app.command("list")
def list_tensorboards(
    active: Annotated[
        bool, typer.Option("--active", help="Only starting or running ones.")
    ] = False,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """The project's TensorBoards, newest first."""
    with connect(project) as client:
        found = client.tensorboards.list(active=active)
    emit(found, as_json, _list_view)


def _list_view(found: list[WorkspaceOut]) -> RenderableType:
    from headwater.cli.output import table

    if not found:
        return "No TensorBoards yet: `hw tensorboard start --experiments N` starts one."
    rows = [
        (b.name, b.state.value, b.created_at, b.culls_at or "", b.reason or "", b.url)
        for b in found
    ]
    return table(["NAME", "STATE", "STARTED", "CULLED AT", "REASON", "URL"], rows)


@app.command("open")
def open_tensorboard(
    name: Annotated[
        str | None, typer.Argument(metavar="NAME", help="The TensorBoard's name or id.")
    ] = None,
    experiment: Annotated[
        int | None,
        typer.Option("--experiment", metavar="N", help="The one started with experiment N."),
    ] = None,
    browser: Annotated[
        bool,
        typer.Option(
            "--browser/--no-browser", help="Open it in a browser when there is a display."
        ),
    ] = True,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print the TensorBoard's URL, and open it in a browser when there is a display."""
    from headwater.domain.errors import InvalidInput

    if (name is None) == (experiment is None):
        raise InvalidInput(
            "name a TensorBoard or an experiment",
            where="NAME",
            hint="hw tensorboard open NAME, or hw tensorboard open --experiment N.",
        )
    with connect(project) as client:
        if experiment is not None:
            shown = client.tensorboards.of_experiment(experiment)
        else:
            assert name is not None
            shown = client.tensorboards.show(name)
        url = client.tensorboards.url(shown)
    open_workspace_url(
        shown,
        url,
        browser=browser,
        as_json=as_json,
        noun="TensorBoard",
        command="tensorboard",
        again="Start another: `hw tensorboard start --experiments N`.",
        waiting="it answers once it runs.",
    )


@app.command()
def stop(name: Name, project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """Stop it, freeing its compute (the logs stay in the experiments' artifacts)."""
    with connect(project) as client:
        stopped = client.tensorboards.stop(name)
    emit(stopped, as_json, lambda b: f"TensorBoard {b.name} is {b.state.value}.")

"""``hw env``: the active project's environment variables, given to every new job."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from headwater.cli.context import ProjectOption, connect
from headwater.cli.inputs import parse_assignments
from headwater.cli.output import JsonOption, emit, say, table

if TYPE_CHECKING:
    from rich.table import Table

app = typer.Typer(help="Environment variables of the active project.", no_args_is_help=True)


@app.command("set")
def set_env(
    assignments: Annotated[
        list[str], typer.Argument(help="KEY=VALUE entries, used exactly as written.")
    ],
    project: ProjectOption = None,
) -> None:
    """Set variables; the others are kept."""
    from headwater.client.scope import label

    env = parse_assignments(assignments)
    with connect(project) as client:
        client.env.set(env)
        target = label(client.active_project())
    say(f"Set {', '.join(env)} in project {target}.")


@app.command("list")
def list_env(project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """List the variables and their values."""
    with connect(project) as client:
        env = client.env.list()
    emit(env, as_json, _view)


def _view(env: dict[str, str]) -> Table:
    return table(["KEY", "VALUE"], sorted(env.items()))


@app.command("unset")
def unset(
    key: Annotated[str, typer.Argument(help="The variable's name.")],
    project: ProjectOption = None,
) -> None:
    """Remove a variable."""
    from headwater.client.scope import label

    with connect(project) as client:
        client.env.unset(key)
        target = label(client.active_project())
    say(f"Unset {key} in project {target}.")

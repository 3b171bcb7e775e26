"""``hw secret``: the active project's secrets; values come from stdin and never go back out."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from headwater.cli.context import ProjectOption, connect
from headwater.cli.inputs import read_secret
from headwater.cli.output import JsonOption, emit, say, table
from headwater.client.scope import label
from headwater.schemas.settings import SecretOut

app = typer.Typer(help="Secrets of the active project (owner only).", no_args_is_help=True)

Key = Annotated[str, typer.Argument(help="Letters, digits and underscores, e.g. AWS_KEY.")]


@app.command("set")
def set_secret(key: Key, project: ProjectOption = None) -> None:
    """Set a secret; the value is read from stdin (a hidden prompt on a terminal)."""
    value = read_secret(f"Value for {key}")
    with connect(project) as client:
        client.secrets.set(key, value)
        target = label(client.active_project())
    say(f"Set secret {key} in project {target}.")


@app.command("list")
def list_secrets(project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """List the secrets' keys (never their values)."""
    with connect(project) as client:
        secrets = client.secrets.list()
    emit(secrets, as_json, _view)


def _view(secrets: list[SecretOut]) -> Table:
    return table(["KEY", "UPDATED"], [(s.key, s.updated_at) for s in secrets])


@app.command("delete")
def delete(key: Key, project: ProjectOption = None) -> None:
    """Delete a secret."""
    with connect(project) as client:
        client.secrets.delete(key)
        target = label(client.active_project())
    say(f"Deleted secret {key} from project {target}.")

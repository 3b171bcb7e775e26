"""``hw secret``: the active project's secrets; values come from stdin and never go back out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from headwater.cli.context import ProjectOption, connect
from headwater.cli.inputs import read_secret
from headwater.cli.output import JsonOption, emit, say, table

if TYPE_CHECKING:
    from rich.table import Table

    from headwater.schemas.settings import SecretOut

app = typer.Typer(help="Secrets of the active project (owner only).", no_args_is_help=True)

Key = Annotated[str, typer.Argument(help="Letters, digits and underscores, e.g. AWS_KEY.")]


OwnerOnly = Annotated[
    bool | None,
    typer.Option(
        "--owner-only/--any-starter",
        help="Only tasks started by the project's owner or an admin receive it: a member who "
        "may run jobs can print any secret their task receives. Left out: a new secret goes "
        "to every task, an existing one keeps its setting.",
    ),
]


@app.command("set")
def set_secret(key: Key, project: ProjectOption = None, owner_only: OwnerOnly = None) -> None:
    """Set a secret; the value is read from stdin (a hidden prompt on a terminal)."""
    from headwater.client.scope import label

    value = read_secret(f"Value for {key}")
    with connect(project) as client:
        made = client.secrets.set(key, value, owner_only=owner_only)
        target = label(client.active_project())
    scope = " (owner-only: tasks of owners and admins)" if made.owner_only else ""
    say(f"Set secret {key} in project {target}{scope}.")


@app.command("list")
def list_secrets(project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """List the secrets' keys (never their values)."""
    with connect(project) as client:
        secrets = client.secrets.list()
    emit(secrets, as_json, _view)


def _view(secrets: list[SecretOut]) -> Table:
    rows = [(s.key, "owners" if s.owner_only else "all", s.updated_at) for s in secrets]
    return table(["KEY", "TASKS", "UPDATED"], rows)


@app.command("delete")
def delete(key: Key, project: ProjectOption = None) -> None:
    """Delete a secret."""
    from headwater.client.scope import label

    with connect(project) as client:
        client.secrets.delete(key)
        target = label(client.active_project())
    say(f"Deleted secret {key} from project {target}.")

"""``hw user``: admins create users and hand out their first API token."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from headwater.cli.context import connect
from headwater.cli.inputs import read_secret
from headwater.cli.output import JsonOption, emit, table

if TYPE_CHECKING:
    from rich.table import Table

    from headwater.schemas.users import UserCreated, UserOut

app = typer.Typer(help="Users of the server (admins only).", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Username.")],
    email: Annotated[str, typer.Option(help="Their email; members are added by it.")],
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an admin.")] = False,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Also set a password (for the UI) from stdin."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Create a user and print their API token (shown once)."""
    password = read_secret("Password", where="--password-stdin") if password_stdin else None
    with connect() as client:
        created = client.users.create(name, email, admin=admin, password=password)
    emit(created, as_json, _created_view)


def _created_view(created: UserCreated) -> str:
    user = created.user
    kind = "admin" if user.is_admin else "user"
    return (
        f"Created {kind} {user.username} ({user.email}, id {user.id}). Their API token:\n"
        f"{created.token}\n"
        f"They log in with: hw login --url URL --token {created.token}"
    )


@app.command("list")
def list_users(as_json: JsonOption = False) -> None:
    """List the users of the server."""
    with connect() as client:
        users = client.users.list()
    emit(users, as_json, _users_view)


def _users_view(users: list[UserOut]) -> Table:
    rows = [(u.username, u.email, u.is_admin, u.id, u.created_at) for u in users]
    return table(["USERNAME", "EMAIL", "ADMIN", "ID", "CREATED"], rows)

"""``hw login`` and ``hw whoami``: which server this machine talks to, and as whom."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from headwater.cli.inputs import read_secret
from headwater.cli.output import JsonOption, emit, fields, say, warn

if TYPE_CHECKING:
    from headwater.schemas.users import UserOut


def login(
    url: Annotated[
        str | None,
        typer.Option(help="Server address, e.g. http://127.0.0.1:8765. [default: the stored one]"),
    ] = None,
    token: Annotated[
        str | None, typer.Option(help="An API token (`hw user create` prints one).")
    ] = None,
    username: Annotated[
        str | None, typer.Option("--username", "-u", help="Log in with a password instead.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Check the URL and credentials against the server, then store them in config.json."""
    from dataclasses import replace

    from headwater.client import Client, load_config, resolve_config, save_config
    from headwater.client.config import ENV_TOKEN, normalise_url

    if (token is None) == (username is None):
        raise typer.BadParameter("give either --token, or --username with --password-stdin")
    if password_stdin and username is None:
        raise typer.BadParameter("--password-stdin goes with --username")
    server = normalise_url(url, where="--url") if url else resolve_config().url
    if username is not None:
        password = read_secret("Password", where="--password-stdin")
        with Client(url=server) as anonymous:
            session = anonymous.auth.login(username, password).token
        # Trade the week-long session for an API token, so the stored login does not expire.
        with Client(url=server, token=session) as client:
            token = client.auth.new_token().token
            client.auth.logout()
    with Client(url=server, token=token) as client:
        me = client.auth.me()
    stored = load_config()
    # A project ID means nothing on another server: keep it only when the server stays.
    project = stored.project if stored.url == server else None
    path = save_config(replace(stored, url=server, token=token, project=project))
    role = "an admin" if me.is_admin else "a user"
    say(f"Logged in to {server} as {me.username} ({me.email}, {role}). Saved to {path}.")
    if os.environ.get(ENV_TOKEN):
        warn(f"{ENV_TOKEN} is set in this shell and overrides the stored token.")


def whoami(as_json: JsonOption = False) -> None:
    """Show the user the stored token belongs to."""
    from headwater.client import Client

    with Client() as client:
        me = client.auth.me()
        url = client.url
    emit(me, as_json, lambda u: fields(_user_fields(u, url)))


def _user_fields(user: UserOut, url: str) -> list[tuple[str, object]]:
    return [
        ("Server", url),
        ("User", user.username),
        ("Email", user.email),
        ("Admin", user.is_admin),
        ("ID", user.id),
        ("Personal project", user.personal_project_id),
    ]

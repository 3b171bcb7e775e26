"""``hw server``: run the control plane in this process."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from headwater import __version__
from headwater.cli.local_server import base_url, check_port_free
from headwater.cli.output import fields, say, stdout


def server(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on. [default: 127.0.0.1]")
    ] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port to listen on. [default: 8765]")
    ] = None,
    home: Annotated[
        Path | None,
        typer.Option(
            help="Folder for the database, objects and admin token. "
            "[default: HEADWATER_HOME or ~/.headwater/server]",
            file_okay=False,
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level.")] = "info",
) -> None:
    """Start the control plane: API, UI and engine. The first start creates the user admin."""
    # The server stack is loaded here only, so other commands start fast.
    import uvicorn

    from headwater.server import create_app
    from headwater.server.platform import ADMIN_TOKEN_FILE
    from headwater.settings import ServerSettings

    overrides: dict[str, Any] = {"host": host, "port": port, "home": home}
    settings = ServerSettings(**{k: v for k, v in overrides.items() if v is not None})
    check_port_free(settings.host, settings.port)
    app = create_app(settings)
    url = base_url(settings.host, settings.port)
    token_file = settings.home / ADMIN_TOKEN_FILE
    say(f"Headwater {__version__} serving at {url}/")
    stdout.print(
        fields(
            [
                ("API", f"{url}/api/v1"),
                ("API docs", f"{url}/docs"),
                ("Home", settings.home),
                (
                    "Admin token",
                    f"{token_file} (hw login --url {url} --token $(cat {token_file}))"
                    if token_file.exists()
                    else f"not in {settings.home}: it is written on the first start only",
                ),
            ]
        )
    )
    say("Press Ctrl-C to stop.")
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=log_level)

"""``hw server``: run the control plane in this process."""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from headwater import __version__
from headwater.cli.output import fields, say, stdout

GC_YOUNG_THRESHOLD = 7_000  # hw server's first-generation threshold (CPython's default: 700)


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
    no_sandbox: Annotated[
        bool,
        typer.Option(
            "--no-sandbox",
            help="Run tasks without bubblewrap, with this server's own rights "
            "(also HEADWATER_SANDBOX=false). Only for a machine with one trusted user.",
        ),
    ] = False,
) -> None:
    """Start the control plane: API, UI and engine. The first start creates the user admin."""
    # The server stack is loaded here only, so other commands start fast.
    import uvicorn

    from headwater.cli.local_server import base_url, check_port_free
    from headwater.executors.local import check_sandbox
    from headwater.server import create_app
    from headwater.server.platform import ADMIN_TOKEN_FILE
    from headwater.settings import ServerSettings

    overrides: dict[str, Any] = {"host": host, "port": port, "home": home}
    if no_sandbox:
        overrides["sandbox"] = False
    settings = ServerSettings(**{k: v for k, v in overrides.items() if v is not None})
    check_port_free(settings.host, settings.port)
    options = settings.sandbox_options()
    if settings.executor == "local" and options is not None:
        check_sandbox(options)  # before anything is made: refuse to run tasks unsandboxed
    # What the server writes (database, logs, objects, tasks' folders) is its user's alone.
    os.umask(0o077)
    app = create_app(settings)
    url = base_url(settings.host, settings.port)
    token_file = settings.home / ADMIN_TOKEN_FILE
    say(f"Headwater {__version__} serving at {url}/")
    stdout().print(
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
    if settings.executor == "local" and options is None:
        say(unsandboxed_warning(settings.home))
    say("Press Ctrl-C to stop.")
    # What is loaded now (modules, the app, its routes and models: ~220,000 objects) lives as
    # long as the server: out of the collector's sight, a full collection no longer walks it
    # (130 ms each on this machine, the serving benchmark's p99 under load; benchmarks/README)
    gc.freeze()
    # Under load the gateway allocates ~50,000 containers a second: at the default threshold
    # (700) that is ~70 young collections a second and a full one every ~1.4 s, 15-45 ms each
    # with the GIL held (what was allocated after the freeze: the engine, caches, connections),
    # which was the serving benchmark's p99. Ten times fewer young collections, so ten times
    # rarer full ones; a young collection then walks at most 7,000 objects.
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=log_level)


def unsandboxed_warning(home: Path) -> str:
    """What running tasks without the sandbox leaves open, said at every start."""
    return (
        "Warning: the sandbox is off (--no-sandbox). Tasks run as this server's own user: "
        f"any user's task can read the server home {home} (database, secret.key, admin.token), "
        "every other task's folder and secrets, and this user's files (~/.headwater, ~/.ssh); "
        "and it sees and can signal the server's processes. Use it only where every user "
        "is trusted."
    )

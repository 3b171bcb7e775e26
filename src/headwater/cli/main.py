"""``hw``: the root command, its global options, and the one entry point ``run()``.

Command groups live one per module in ``headwater.cli.commands``; this module only names
them (``COMMANDS``), and each module is imported when its command runs (``lazy.py``), so that
``hw sync`` does not pay for every other group's imports. Errors are handled once, in ``run()``.
"""

from __future__ import annotations

import sys
from typing import Annotated, ClassVar

import typer

from headwater import __version__
from headwater.cli.context import GlobalOptions, ProjectOption, options, remember
from headwater.cli.lazy import LazyGroup

_C = "headwater.cli.commands."

# Every command and group of ``hw``, in the order ``hw --help`` lists them.
COMMANDS: dict[str, str] = {
    "server": _C + "server:server",
    "login": _C + "auth:login",
    "whoami": _C + "auth:whoami",
    "token": _C + "tokens:app",
    "configure": _C + "configure:configure",
    "demo": _C + "demo:demo",
    "new": _C + "folders:new",
    "link": _C + "folders:link",
    "sync": _C + "folders:sync",
    "clone": _C + "folders:clone",
    "run": _C + "experiments:run",
    "status": _C + "compute:status",
    "bakes": _C + "bakes:bakes",
    "inspect": _C + "bakes:inspect",
    "endpoint": _C + "endpoints:app",
    "endpoints": _C + "endpoints:endpoints",
    "workspace": _C + "workspaces:app",
    "tensorboard": _C + "tensorboards:app",
    "experiments": _C + "experiments:app",
    "flow": _C + "flows:app",
    "live": _C + "live:app",
    "compute": _C + "compute:app",
    "user": _C + "users:app",
    "project": _C + "projects:app",
    "secret": _C + "secrets:app",
    "env": _C + "env:app",
    "keys": _C + "keys:app",
    "webhook": _C + "webhooks:app",
    "settings": _C + "settings:app",
    "files": _C + "files:app",
    "dataset": _C + "datasets:app",
    "model": _C + "models:app",
    "admin": _C + "admin:app",
}


class HwGroup(LazyGroup):
    entries: ClassVar[dict[str, str]] = COMMANDS


app = typer.Typer(
    name="hw",
    cls=HwGroup,
    help="Headwater: projects, experiments, flows and endpoints on your own machines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"headwater {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    project: ProjectOption = None,
    debug: Annotated[
        bool,
        typer.Option("--debug", envvar="HEADWATER_DEBUG", help="Show tracebacks of errors."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    remember(GlobalOptions(debug=debug, project=project))


def run() -> None:
    """The console script ``hw`` (and ``headwater``): every command's errors end here."""
    try:
        app(prog_name="hw")
    except Exception as exc:
        from headwater.cli.errors import handle  # Rich and the schemas only when it failed

        sys.exit(handle(exc, debug=options().debug))


if __name__ == "__main__":
    run()

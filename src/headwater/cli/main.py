"""``hw``: the root command, its global options, and the one entry point ``run()``.

Command groups live one per module in ``headwater.cli.commands``; this module only wires
them. Errors are handled once, in ``run()``.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from headwater import __version__
from headwater.cli.commands import (
    admin,
    auth,
    bakes,
    compute,
    configure,
    datasets,
    demo,
    env,
    experiments,
    files,
    flows,
    folders,
    keys,
    live,
    models,
    projects,
    secrets,
    server,
    settings,
    users,
    webhooks,
)
from headwater.cli.context import GlobalOptions, ProjectOption, options, remember
from headwater.cli.errors import handle

app = typer.Typer(
    name="hw",
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


app.command("server")(server.server)
app.command("login")(auth.login)
app.command("whoami")(auth.whoami)
app.command("configure")(configure.configure)
app.command("demo")(demo.demo)
app.command("new")(folders.new)
app.command("link")(folders.link)
app.command("sync")(folders.sync)
app.command("clone")(folders.clone)
app.command("run")(experiments.run)
app.command("status")(compute.status)
app.command("bakes")(bakes.bakes)
app.command("inspect")(bakes.inspect)
app.add_typer(experiments.app, name="experiments")
app.add_typer(flows.app, name="flow")
app.add_typer(live.app, name="live")
app.add_typer(compute.app, name="compute")
app.add_typer(users.app, name="user")
app.add_typer(projects.app, name="project")
app.add_typer(secrets.app, name="secret")
app.add_typer(env.app, name="env")
app.add_typer(keys.app, name="keys")
app.add_typer(webhooks.app, name="webhook")
app.add_typer(settings.app, name="settings")
app.add_typer(files.app, name="files")
app.add_typer(datasets.app, name="dataset")
app.add_typer(models.app, name="model")
app.add_typer(admin.app, name="admin")


def run() -> None:
    """The console script ``hw`` (and ``headwater``): every command's errors end here."""
    try:
        app(prog_name="hw")
    except Exception as exc:
        sys.exit(handle(exc, debug=options().debug))


if __name__ == "__main__":
    run()

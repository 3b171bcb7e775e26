"""``hw demo``: from nothing to a working platform in one command.

It reuses a server that answers at the configured URL, or starts ``hw server`` as a child on
an embedded home; logs in as its admin; sets up a project ``demo`` with an env var and a
secret; pushes the bundled example (a classifier on the Iris data) as the project's files and
its data as the dataset ``iris``; runs the example's flow (the data, a grid of training runs
over the learning rate, the most accurate kept by a max condition, a report on it) and prints
the results table and what ``hw inspect`` shows of the run; prints where the UI and the API
docs are; then serves until Ctrl-C (or stops at once with ``--exit``).
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from headwater.cli.commands.experiments import experiments_table
from headwater.cli.output import fields, say, stdout
from headwater.domain.errors import Conflict, HeadwaterError, ServerUnreachable

if TYPE_CHECKING:
    from headwater.cli.local_server import ChildServer
    from headwater.client import Client
    from headwater.schemas.projects import ProjectOut

PROJECT_NAME = "demo"
ENV_VAR = ("DEMO_GREETING", "hello from headwater")
SECRET_KEY = "DEMO_API_TOKEN"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "classifier"
DATASET = "iris"


def demo_home() -> Path:
    return Path(os.environ.get("HEADWATER_HOME") or Path.home() / ".headwater" / "demo")


def demo(
    exit_after: Annotated[
        bool, typer.Option("--exit", help="Stop the demo server and exit once set up.")
    ] = False,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            min=1,
            max=65535,
            help="Use (or start) the server on this port of 127.0.0.1. "
            "[default: the configured URL's, 8765]",
        ),
    ] = None,
) -> None:
    """Start a local platform if none runs, set up a demo project, and show where it is."""
    from headwater.cli.local_server import base_url
    from headwater.client import Client, resolve_config, update_config
    from headwater.client.scope import label

    url = resolve_config().url if port is None else base_url("127.0.0.1", port)
    home = demo_home()
    # `kill` (SIGTERM) must stop the child server too: turn it into an orderly exit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    child = None if _answers(url) else _start(url, home)
    try:
        token = _login(url, home, started=child is not None)
        with Client(url=url, token=token) as client:
            project = _project(client)
            _seed(client, project)
            _flow(client, project)
        update_config(project=project.id)
        say(f"Active project is now {label(project)}.")
        stdout().print(fields([("UI", f"{url}/"), ("API docs", f"{url}/docs")]))
        say("Try: hw project show, hw env list, hw secret list.")
        if child is None or exit_after:
            return
        say("Serving until Ctrl-C.")
        status = child.wait()
        raise HeadwaterError(
            f"the demo server stopped by itself (exit status {status})",
            where=str(child.log),
            hint="Its log says why; run `hw demo` again to restart it.",
        )
    except KeyboardInterrupt:
        say("Stopping.")
    finally:
        if child is not None:
            child.stop()
            say("Stopped the demo server.")


def _answers(url: str) -> bool:
    """Whether a Headwater server answers at ``url``; something else answering is an error."""
    from headwater.client import Client

    with Client(url=url, timeout=2.0) as probe:
        try:
            probe.health()
        except ServerUnreachable:
            return False
        except HeadwaterError as exc:
            raise _port_taken(url, f"it answers {exc.detail!r}") from exc
    return True


def _port_taken(url: str, why: str) -> HeadwaterError:
    from headwater.cli.local_server import local_address

    port = local_address(url)[1]
    return HeadwaterError(
        f"port {port} is taken by something that is not a Headwater server ({why})",
        where=url,
        hint=f"Stop what listens there, or run the demo on a free port: hw demo --port {port + 1}",
    )


def _sandbox_options() -> list[str]:
    """``--no-sandbox``, with one warning line, where bubblewrap is missing: the demo is one
    user on their own machine, and must run on a fresh one."""
    from headwater.executors.local import SandboxMissing, check_sandbox
    from headwater.settings import ServerSettings

    options = ServerSettings().sandbox_options()
    if options is None:
        return []
    try:
        check_sandbox(options)
    except SandboxMissing as exc:
        say(f"Warning: {exc.detail}: the demo's tasks run unsandboxed, as you.")
        return ["--no-sandbox"]
    return []


def _start(url: str, home: Path) -> ChildServer:
    from headwater.cli.local_server import ChildServer, local_address

    host, port = local_address(url)
    options = _sandbox_options()
    say(f"No server answers at {url}: starting one on {home} (log: {home / 'server.log'}).")
    try:
        child = ChildServer.start(host, port, home, *options)
    except Conflict as exc:  # the port is bound, yet nothing answered there
        raise _port_taken(url, exc.detail) from exc
    try:
        child.wait_ready()
    except BaseException:
        child.stop()
        raise
    say(f"Started a Headwater server at {child.url}.")
    return child


def _login(url: str, home: Path, *, started: bool) -> str:
    """The demo server's admin token when the demo started it, else the stored login."""
    from headwater.cli.local_server import read_admin_token
    from headwater.client import resolve_config, update_config

    stored = resolve_config().token
    if stored and not started:
        say(f"Using the server at {url} with your stored login.")
        return stored
    token = read_admin_token(home)
    path = update_config(url=url, token=token)
    say(f"Logged in as admin with the token in {home / 'admin.token'} (saved to {path}).")
    return token


def _project(client: Client) -> ProjectOut:
    from headwater.client.scope import label

    for project in client.projects.iter_all(search=PROJECT_NAME):
        if project.name == PROJECT_NAME and project.role == "owner":
            say(f"Reusing project {label(project)}.")
            return project
    project = client.projects.create(PROJECT_NAME, description="Created by `hw demo`.")
    say(f"Created project {label(project)}.")
    return project


def _seed(client: Client, project: ProjectOut) -> None:
    key, value = ENV_VAR
    client.env.set({key: value}, project=project.id)
    client.secrets.set(SECRET_KEY, secrets.token_urlsafe(16), project=project.id)
    say(f"Set env var {key}={value} and secret {SECRET_KEY} (value hidden) on it.")


def _flow(client: Client, project: ProjectOut) -> None:
    """The example as the project's files and dataset, then a run of its flow."""
    from headwater.cli.runviews import run_view
    from headwater.client.sync import push_folder

    repo = client.files.repo(project=project.id)
    commit, _ = push_folder(repo, EXAMPLE, message="the demo classifier")
    say(f"Pushed the example classifier as version {commit.id[:12]} of the project's files.")
    if DATASET not in {d.name for d in client.datasets.list(project=project.id)}:
        client.datasets.create(DATASET, description="The Iris flowers", project=project.id)
    data, _ = push_folder(
        client.datasets.repo(DATASET, project=project.id), EXAMPLE / "data", message="iris"
    )
    say(f"Pushed its data as version {data.id[:12]} of the dataset {DATASET!r}.")
    flow = client.flows.import_file(EXAMPLE / "flow.yaml", project=project.id)
    started = client.flows.run(flow.name, project=project.id)
    say(
        f"Started run {started.number} of flow {flow.name!r}: the data, a grid of training "
        "runs over the learning rate, the most accurate kept, a report; waiting for it."
    )
    run = client.flows.wait(started.number, timeout=600, project=project.id)
    train = next(t for t in run.tasks if t.title == "Train")
    ids = {i.experiment_id for i in train.instances}
    made = [e for e in client.experiments.list(limit=100, project=project.id).items if e.id in ids]
    stdout().print(experiments_table(sorted(made, key=lambda e: e.number)))
    stdout().print(run_view(run))
    if run.status.value != "success":
        raise HeadwaterError(
            f"the demo flow ended {run.status.value}",
            where=f"run {run.number}",
            hint=f"See why: hw inspect {run.number} -p {project.id}",
        )

"""``hw configure``: show and choose the active project that commands act on by default.

trainML's ``configure`` is the model: print ``Current Active Project: ...``, then set it from
``--project ID`` or from a prompt among the projects the user can access. "Personal" means no
project stored: the user's own Personal project.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from headwater.cli.context import connect
from headwater.cli.output import say, warn
from headwater.domain.entities import PERSONAL_PROJECT_NAME
from headwater.domain.errors import NotFound

if TYPE_CHECKING:
    from headwater.client import Client
    from headwater.schemas.projects import ProjectOut


def configure(
    project: Annotated[
        str | None,
        typer.Option(
            "--project",
            "-p",
            help="ID of the project to make active, or 'Personal'.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Show the active project, and set it with --project or at a prompt."""
    from headwater.client import load_config, update_config
    from headwater.client.config import ENV_PROJECT
    from headwater.client.linked import linked_project

    stored = load_config().project
    with connect() as client:
        say(f"Current Active Project: {_describe(client, stored)}")
        if os.environ.get(ENV_PROJECT):
            warn(f"{ENV_PROJECT}={os.environ[ENV_PROJECT]} overrides it in this shell.")
        elif (linked := linked_project()) is not None:
            warn(f"in this folder, commands use its project {linked[0]} (from {linked[1]}).")
        if project is None:
            if not sys.stdin.isatty():
                return
            chosen = _prompt(client, stored)
        elif project.lower() == PERSONAL_PROJECT_NAME.lower():
            chosen = None
        else:
            chosen = client.scope.project(project)
    update_config(project=chosen.id if chosen else None)
    say(f"Active project set to {_name(chosen)}.")


def _name(project: ProjectOut | None) -> str:
    from headwater.client.scope import label

    return label(project) if project else PERSONAL_PROJECT_NAME


def _describe(client: Client, project_id: str | None) -> str:
    if project_id is None:
        return PERSONAL_PROJECT_NAME
    try:
        return _name(client.projects.get(project_id))
    except NotFound:
        return f"{project_id} (not found, or no longer shared with you)"


def _prompt(client: Client, current: str | None) -> ProjectOut | None:
    """Offer the projects by name (with the ID where two share a name); Personal is None."""
    from headwater.client.scope import label, usable

    projects = [p for p in client.projects.iter_all() if usable(p) and not p.personal]
    names = [p.name for p in projects]
    choices: dict[str, ProjectOut | None] = {PERSONAL_PROJECT_NAME: None}
    for p in projects:
        clash = names.count(p.name) > 1 or p.name == PERSONAL_PROJECT_NAME
        choices[label(p) if clash else p.name] = p
    default = next((k for k, p in choices.items() if p and p.id == current), PERSONAL_PROJECT_NAME)
    labels = sorted(choices, key=str.lower)

    def pick(answer: str) -> str:
        if answer not in choices:
            raise typer.BadParameter(f"{answer!r} is not one of: {', '.join(labels)}")
        return answer

    answer: str = typer.prompt(
        f"Select Active Project: ({', '.join(labels)})", default=default, value_proc=pick
    )
    return choices[answer]

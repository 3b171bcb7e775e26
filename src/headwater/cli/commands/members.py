"""``hw project member``: share a project and set each member's access per resource type."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from headwater.cli.context import connect
from headwater.cli.output import RESOURCES, JsonOption, access_summary, emit, say, table
from headwater.domain.access import AccessLevel

if TYPE_CHECKING:
    from rich.table import Table

    from headwater.schemas.projects import MemberOut

app = typer.Typer(help="Members of a project and their access.", no_args_is_help=True)

ProjectId = Annotated[str, typer.Argument(help="Project ID.")]
Email = Annotated[str, typer.Argument(help="The member's email (or username).")]


def _level(resource: str, what: str) -> Any:
    return typer.Option(f"--{resource}", help=f"read: see {what}; all: also create, edit, delete.")


Files = Annotated[AccessLevel | None, _level("files", "project files")]
Jobs = Annotated[AccessLevel | None, _level("jobs", "experiments, flows and endpoints")]
Datasets = Annotated[AccessLevel | None, _level("datasets", "datasets")]
Models = Annotated[AccessLevel | None, _level("models", "models")]


def _member_line(verb: str) -> Callable[[MemberOut], str]:
    def view(m: MemberOut) -> str:
        return f"{verb} {m.username} ({m.email}): {access_summary(m.access)}"

    return view


@app.command("add")
def add(
    project_id: ProjectId,
    email: Email,
    files: Files = None,
    jobs: Jobs = None,
    datasets: Datasets = None,
    models: Models = None,
    manage: Annotated[bool, typer.Option("--manage", help="May add and remove members.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Add a user to a project; access defaults to read on everything."""
    read = AccessLevel.READ
    with connect() as client:
        member = client.members.add(
            email,
            files=files or read,
            jobs=jobs or read,
            datasets=datasets or read,
            models=models or read,
            manage=manage,
            project=project_id,
        )
    emit(member, as_json, _member_line("Added"))


@app.command("list")
def list_members(project_id: ProjectId, as_json: JsonOption = False) -> None:
    """List a project's members (the owner is not one)."""
    with connect() as client:
        members = client.members.list(project=project_id)
    emit(members, as_json, _members_view)


def _members_view(members: list[MemberOut]) -> Table:
    rows = [
        (m.username, m.email, *(getattr(m.access, r).value for r in RESOURCES), m.access.manage)
        for m in members
    ]
    return table(["USER", "EMAIL", *(r.upper() for r in RESOURCES), "MANAGE"], rows)


@app.command("update")
def update(
    project_id: ProjectId,
    email: Email,
    files: Files = None,
    jobs: Jobs = None,
    datasets: Datasets = None,
    models: Models = None,
    manage: Annotated[
        bool | None, typer.Option("--manage/--no-manage", help="May add and remove members.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Change a member's access; what you leave out stays as it is."""
    with connect() as client:
        member = client.members.update(
            email,
            files=files,
            jobs=jobs,
            datasets=datasets,
            models=models,
            manage=manage,
            project=project_id,
        )
    emit(member, as_json, _member_line("Updated"))


@app.command("remove")
def remove(project_id: ProjectId, email: Email) -> None:
    """Remove a member from a project."""
    with connect() as client:
        client.members.remove(email, project=project_id)
    say(f"Removed {email} from project {project_id}.")

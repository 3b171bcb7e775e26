"""``hw project``: create, list, show, update, delete and leave projects."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from headwater.cli.commands import members
from headwater.cli.context import connect
from headwater.cli.inputs import confirm_or_yes
from headwater.cli.output import JsonOption, access_summary, emit, fields, say, table

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.text import Text

    from headwater.schemas.common import Page
    from headwater.schemas.projects import ProjectOut

app = typer.Typer(help="Projects, and who may do what in them.", no_args_is_help=True)
app.add_typer(members.app, name="member")

ProjectId = Annotated[str, typer.Argument(help="Project ID (see `hw project list`).")]


def visibility(project: ProjectOut) -> str:
    return "personal" if project.personal else ("public" if project.public else "private")


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Fixed once created.")],
    description: Annotated[str, typer.Option(help="What the project is for.")] = "",
    public: Annotated[bool, typer.Option("--public", help="Let every user read it.")] = False,
    keys_from_personal: Annotated[
        bool,
        typer.Option(
            "--keys-from-personal", help="Copy the third-party keys of your Personal project."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Create a project that you own."""
    from rich.text import Text

    from headwater.client.scope import label

    with connect() as client:
        project = client.projects.create(
            name, description=description, public=public, keys_from_personal=keys_from_personal
        )
    emit(
        project,
        as_json,
        lambda p: Text(
            f"Created project {label(p)}. Make it active with: hw configure --project {p.id}"
        ),
    )


@app.command("list")
def list_projects(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Projects per page.")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="Projects to skip.")] = 0,
    search: Annotated[str | None, typer.Option(help="Only names containing this.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List the projects you can access: yours, shared with you, public. * marks the active."""
    with connect() as client:
        page = client.projects.list(offset=offset, limit=limit, search=search)
        active = client.config.project
    emit(page, as_json, lambda p: _page_view(p, active))


def _page_view(page: Page[ProjectOut], active: str | None) -> RenderableType:
    from rich.text import Text

    def marker(p: ProjectOut) -> Text:
        is_active = p.id == active if active else p.personal and p.role == "owner"
        return Text("*" if is_active else "")

    rows = [
        (marker(p), p.id, p.name, p.owner, p.role, visibility(p), p.description) for p in page.items
    ]
    first, last = page.offset + 1, page.offset + len(page.items)
    caption = f"{first}-{last} of {page.total} projects" if page.items else "no projects here"
    if last < page.total:
        caption += f"; next page: --offset {last}"
    headers = ["", "ID", "NAME", "OWNER", "ROLE", "VISIBILITY", "DESCRIPTION"]
    return table(headers, rows, caption=caption)


@app.command("show")
def show(
    project_id: Annotated[
        str | None, typer.Argument(help="Project ID. [default: the active project]")
    ] = None,
    activity: Annotated[int, typer.Option(min=1, max=500, help="Feed entries to show.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """Show a project: details, members and its recent activity."""
    with connect() as client:
        project = client.scope.project(project_id)
        member_count = len(client.members.list(project=project.id))
        feed = client.projects.activity(project.id, limit=activity)
    details = {"project": project, "member_count": member_count, "activity": feed}
    emit(details, as_json, _details_view)


def _details_view(details: dict[str, Any]) -> RenderableType:
    from rich.console import Group
    from rich.text import Text

    p: ProjectOut = details["project"]
    about = fields(
        [
            ("Name", p.name),
            ("ID", p.id),
            ("Description", p.description),
            ("Owner", p.owner),
            ("Visibility", visibility(p)),
            ("Created", p.created_at),
            ("Members", f"{details['member_count']} besides the owner"),
            ("Your role", p.role),
            ("Your access", access_summary(p.access)),
        ]
    )
    rows = [(a.at, a.actor, a.message) for a in details["activity"]]
    feed = table(["WHEN", "WHO", "WHAT"], rows, caption="Recent activity, newest first")
    return Group(about, Text(""), feed)


@app.command("update")
def update(
    project_id: ProjectId,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
    public: Annotated[
        bool | None,
        typer.Option("--public/--private", help="Let every user read it, or only members."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Change a project's description or privacy (its name is fixed)."""
    from headwater.client.scope import label

    if description is None and public is None:
        raise typer.BadParameter("nothing to change: give --description, --public or --private")
    with connect() as client:
        project = client.projects.update(project_id, description=description, public=public)
    emit(project, as_json, lambda p: f"Updated project {label(p)}: {visibility(p)}.")


@app.command("delete")
def delete(
    project_id: ProjectId,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a project you own, with everything in it."""
    from headwater.client.scope import label

    with connect() as client:
        project = client.scope.project(project_id)
        confirm_or_yes(f"Delete project {label(project)} for good?", yes=yes)
        client.projects.delete(project.id)
    say(f"Deleted project {label(project)}.")
    _forget_if_active(project.id)


@app.command("leave")
def leave(project_id: ProjectId) -> None:
    """Leave a project someone else shared with you."""
    from headwater.client.scope import label

    with connect() as client:
        project = client.scope.project(project_id)
        client.projects.leave(project.id)
    say(f"Left project {label(project)}.")
    _forget_if_active(project.id)


def _forget_if_active(project_id: str) -> None:
    from headwater.client import load_config, update_config

    if load_config().project == project_id:
        update_config(project=None)
        say("It was your active project; the active project is Personal again.")

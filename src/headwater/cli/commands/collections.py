"""What ``hw dataset`` and ``hw model`` share: create, list, versions, push, pull, delete.

Datasets and models are the same kind of thing on the server (named, versioned trees), so their
commands are made once here for a noun; ``datasets`` adds queries on top.

No ``from __future__ import annotations``: the commands are made inside a function, and Typer
must see their annotations as objects, not as names to look up in the module's globals. The
other functions' annotations are quoted, so that their types (Rich, the SDK, the schemas) are
imported when a command runs, not when ``hw dataset --help`` builds the group.
"""

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from headwater.cli.context import ProjectOption, connect
from headwater.cli.inputs import confirm_or_yes
from headwater.cli.output import JsonOption, emit, say, short, size, table, versions_table
from headwater.cli.progress import transfer_progress

if TYPE_CHECKING:
    from rich.console import RenderableType

    from headwater.client import Client
    from headwater.client.collections import CollectionClient
    from headwater.client.datacache import Pulled
    from headwater.schemas.versions import QueryResolved, RepoOut

Pick = Callable[["Client"], "CollectionClient"]
CommitOption = Annotated[
    str | None,
    typer.Option("--commit", "-c", help="A version (id or prefix). [default: the latest]"),
]
Limit = Annotated[int, typer.Option(min=1, max=10_000, help="Versions to list.")]
Dest = Annotated[
    Path | None, typer.Argument(metavar="[DIR]", help="Where to put the files. [default: ./NAME]")
]


def collection_app(noun: str, pick: Pick, help_text: str) -> typer.Typer:
    """A command group for one kind of collection; ``pick`` finds its sub-client."""
    app = typer.Typer(help=help_text, no_args_is_help=True)
    name_arg = Annotated[str, typer.Argument(metavar="NAME", help=f"The {noun}'s name.")]

    @app.command("create", help=f"Create an empty {noun} in the project.")
    def create(
        name: name_arg,
        description: Annotated[str, typer.Option(help=f"What the {noun} holds.")] = "",
        project: ProjectOption = None,
        as_json: JsonOption = False,
    ) -> None:
        with connect(project) as client:
            made = pick(client).create(name, description=description, project=project)
        emit(
            made,
            as_json,
            lambda r: f"Created {noun} {r.name}. Push files: hw {noun} push {r.name} DIR",
        )

    @app.command("list", help=f"List the project's {noun}s with their latest version.")
    def list_all(project: ProjectOption = None, as_json: JsonOption = False) -> None:
        with connect(project) as client:
            found = pick(client).list(project=project)
        emit(found, as_json, lambda rs: _list_view(rs, noun))

    @app.command("versions", help=f"List a {noun}'s versions, newest first.")
    def versions(
        name: name_arg,
        limit: Limit = 50,
        project: ProjectOption = None,
        as_json: JsonOption = False,
    ) -> None:
        with connect(project) as client:
            commits = pick(client).repo(name, project=project).versions(limit=limit)
        emit(commits, as_json, versions_table)

    @app.command("push", help=f"Upload a folder as the {noun}'s new version (.hwignore honoured).")
    def push(
        name: name_arg,
        directory: Annotated[
            Path, typer.Argument(metavar="DIR", help="The folder whose files become the version.")
        ],
        message: Annotated[str, typer.Option("--message", "-m", help="What changed.")] = "",
        project: ProjectOption = None,
        as_json: JsonOption = False,
    ) -> None:
        from headwater.client.sync import push_folder

        with connect(project) as client, transfer_progress(quiet=as_json) as progress:
            repo = pick(client).repo(name, project=project)
            result, uploaded = push_folder(repo, directory, message=message, progress=progress)
        done = {"commit": result, "uploaded": uploaded}
        emit(
            done,
            as_json,
            lambda d: (
                f"Pushed {noun} {name}: "
                + (
                    f"nothing changed, still version {short(result.id)}."
                    if result.unchanged
                    else f"version {short(result.id)}, {result.files} file(s), {size(result.size)} "
                    f"(uploaded {uploaded.files} file(s), {size(uploaded.size)})."
                )
            ),
        )

    @app.command("delete", help=f"Delete a {noun} with all its versions.")
    def delete(
        name: name_arg,
        yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
        project: ProjectOption = None,
    ) -> None:
        with connect(project) as client:
            collection = pick(client)
            collection.get(name, project=project)  # a clean "not found" before asking
            confirm_or_yes(f"Delete {noun} {name} and all its versions?", yes=yes)
            collection.delete(name, project=project)
        say(f"Deleted {noun} {name}.")

    return app


def _list_view(repos: "list[RepoOut]", noun: str) -> "RenderableType":
    from rich.text import Text

    if not repos:
        return Text(f"No {noun}s yet. Create one: hw {noun} create NAME")
    rows = [
        (
            r.name,
            short(r.head.id if r.head else None),
            r.head.files if r.head else 0,
            size(r.head.size) if r.head else "-",
            r.head.created_at if r.head else None,
            r.description,
        )
        for r in repos
    ]
    return table(["NAME", "LATEST", "FILES", "SIZE", "UPDATED", "DESCRIPTION"], rows)


def pull_into(
    client: "Client",
    collection: "CollectionClient",
    name: str,
    directory: Path | None,
    *,
    commit: str | None,
    selection: "QueryResolved | None" = None,
    project: str | None,
    as_json: bool,
) -> None:
    """Pull a version (or a query's files) through the local cache and report it."""
    from headwater.client.datacache import pull

    dest = (directory or Path.cwd() / name).absolute()
    with transfer_progress(quiet=as_json) as progress:
        pulled = pull(
            collection.repo(name, project=project),
            client.cache(),
            dest,
            commit=commit,
            selection=selection,
            progress=progress,
        )
    emit(pulled, as_json, lambda p: _pulled_sentence(name, p))


def _pulled_sentence(name: str, pulled: "Pulled") -> str:
    source = "from the local cache" if pulled.cached else "downloaded"
    return (
        f"Pulled {name} version {short(pulled.commit.id)} into {pulled.path}: "
        f"{pulled.files} file(s), {size(pulled.size)}, {source}."
    )

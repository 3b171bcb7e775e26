"""``hw new``, ``hw link``, ``hw sync``, ``hw clone``: project folders and their files (seed 000).

A folder is linked to its project by ``.headwater/project.yml``; `hw sync` inside it uploads what
changed and brings in what others synced; `.hwignore` lists what is not synced.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from headwater.cli.context import connect
from headwater.cli.output import JsonOption, emit, short, size, warn

if TYPE_CHECKING:
    from headwater.client.sync import SyncReport

Message = Annotated[str, typer.Option("--message", "-m", help="What changed, for the log.")]


def new(
    name: Annotated[str, typer.Argument(help="The project's name, also its folder's name.")],
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            "-t",
            help="A cookiecutter template: a folder or a Git URL. [default: Headwater's]",
            show_default=False,
        ),
    ] = None,
    description: Annotated[str, typer.Option(help="What the project is for.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Create a project and its folder ./NAME from a template, then sync its first version."""
    from headwater.cli.progress import transfer_progress
    from headwater.client.folders import new_project, sync_here
    from headwater.client.scope import label

    with connect() as client, transfer_progress(quiet=as_json) as progress:
        project, folder = new_project(
            client, name, into=Path.cwd(), template=template, description=description
        )
        _, report = sync_here(
            client, message="Created from a template", start=folder, progress=progress
        )
    done = {"project": project, "folder": str(folder), "sync": report}
    emit(
        done,
        as_json,
        lambda d: (
            f"Created project {label(project)} in {folder}. "
            f"{sync_sentence(report)} Next: cd {folder.name} && hw sync"
        ),
    )


def link(
    title: Annotated[
        str | None,
        typer.Option("--title", help="The new project's name. [default: the folder's name]"),
    ] = None,
    sync: Annotated[bool, typer.Option("--sync", help="Sync the folder at once.")] = False,
    message: Message = "",
    as_json: JsonOption = False,
) -> None:
    """Create a project for the current folder and link the folder to it."""
    from headwater.cli.progress import transfer_progress
    from headwater.client.folders import link_folder, sync_here
    from headwater.client.scope import label

    with connect() as client, transfer_progress(quiet=as_json) as progress:
        project = link_folder(client, Path.cwd(), title=title)
        report = sync_here(client, message=message, progress=progress)[1] if sync else None
    done = {"project": project, "folder": str(Path.cwd()), "sync": report}
    emit(
        done,
        as_json,
        lambda d: (
            f"Linked {d['folder']} to project {label(project)}. "
            + (sync_sentence(report) if report else "Sync it with: hw sync")
        ),
    )


def sync(message: Message = "", as_json: JsonOption = False) -> None:
    """Sync the linked folder you are in: upload your changes, bring in the server's."""
    from headwater.cli.progress import transfer_progress
    from headwater.client.folders import sync_here

    with connect() as client, transfer_progress(quiet=as_json) as progress:
        root, report = sync_here(client, message=message, progress=progress)
    emit({"folder": str(root), "sync": report}, as_json, lambda d: sync_sentence(report))
    for path in report.kept_local:
        warn(
            f"kept your {path}: it changed while syncing, so the server's version was not "
            "written over it; your next sync sends yours."
        )


def sync_sentence(report: SyncReport) -> str:
    """What a sync did, in the words the seed's users expect."""
    version = short(report.commit.id if report.commit else None)
    if report.commit is None:
        return "The folder is empty: nothing to sync."
    if report.merged:
        brought = (
            f"merged with {report.incoming} change(s) from the server "
            f"({report.applied} brought into the folder)"
        )
        if report.unchanged:
            return f"Updated from the server: {brought}; version {version}."
        return f"Synced version {version}: {_uploaded(report)}, {brought}."
    if report.unchanged:
        return f"Already up to date: nothing to sync (version {version})."
    return f"Synced version {version}: {_uploaded(report)}."


def _uploaded(report: SyncReport) -> str:
    return f"uploaded {report.uploaded.files} file(s), {size(report.uploaded.size)}"


def clone(
    project_id: Annotated[str, typer.Argument(metavar="ID", help="The project to clone.")],
    directory: Annotated[
        Path | None,
        typer.Argument(metavar="[DIR]", help="A new folder. [default: ./PROJECT_NAME]"),
    ] = None,
    commit: Annotated[
        str | None,
        typer.Option("--commit", "-c", help="A version (id or prefix). [default: the latest]"),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Clone a project's files into a new folder linked to it, ready for `hw sync`."""
    from headwater.cli.progress import transfer_progress
    from headwater.client.folders import clone_project
    from headwater.client.scope import label

    with connect() as client, transfer_progress(quiet=as_json) as progress:
        project, folder, version = clone_project(
            client, project_id, directory, commit=commit, progress=progress
        )
    done: dict[str, Any] = {"project": project, "folder": str(folder), "commit": version}
    emit(
        done,
        as_json,
        lambda d: (
            f"Cloned project {label(project)} into {folder}"
            + (
                f" at version {short(version.id)} ({version.files} files)."
                if version
                else ": no files yet."
            )
        ),
    )

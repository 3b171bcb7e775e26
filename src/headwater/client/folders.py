"""Project folders: create one from a template (`hw new`), link one (`hw link`), clone one
(`hw clone`), and sync the one a command runs in (`hw sync`).

These tie a folder on disk to a project on the server; the moving of files is ``sync``'s.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from headwater.client.facade import Client
from headwater.client.linked import find_root, read_project_file, write_project_file
from headwater.client.sync import SyncReport, clone_folder, sync_folder
from headwater.client.transfer import Progress
from headwater.domain.errors import Conflict, HeadwaterError, InvalidInput, NotFound
from headwater.domain.naming import check_project_name
from headwater.schemas.projects import ProjectOut
from headwater.schemas.versions import CommitOut


def new_project(
    client: Client,
    name: str,
    *,
    into: Path,
    template: str | None = None,
    description: str = "",
) -> tuple[ProjectOut, Path]:
    """Create project ``name`` and render ``template`` into ``into/name``, linked to it.

    The project is created first because the template may use its id; if rendering fails, the
    project is deleted again, so a bad template leaves neither a project nor a folder behind
    (cookiecutter may have made ``into/name`` before failing on a file; it did not exist before,
    checked above, so it is ours to remove and a retry finds the name free).
    """
    check_project_name(name, where="NAME")
    target = into / name
    if target.exists():
        raise Conflict(
            f"{target} exists already",
            where=str(target),
            hint="Choose another name, or link that folder with `hw link` from inside it.",
        )
    project = client.projects.create(name, description=description)
    context = {
        "project_name": name,
        "project_dir": name,
        "project_id": project.id,
        "description": description,
    }
    from headwater.client.templates import render  # YAML and the renderer: after the request

    try:
        folder = render(template, context, into)
        _ensure_linked(folder, project)
    except BaseException:
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target, ignore_errors=True)
        with contextlib.suppress(HeadwaterError):
            client.projects.delete(project.id)
        raise
    return project, folder


def _ensure_linked(folder: Path, project: ProjectOut) -> None:
    """A custom template may lack ``.headwater/project.yml``, or not fill in the id."""
    try:
        linked = read_project_file(folder)["id"]
    except InvalidInput:
        linked = None
    if linked != project.id:
        write_project_file(folder, project.id, project.name)


def link_folder(client: Client, root: Path, *, title: str | None = None) -> ProjectOut:
    """Create a project named ``title`` (default: the folder's name) and link ``root`` to it."""
    root = root.resolve()
    linked = find_root(root)
    if linked is not None:
        project_id = read_project_file(linked)["id"]
        raise Conflict(
            f"{linked} is already linked to project {project_id}",
            where=str(linked),
            hint="Sync it with `hw sync`; to link it anew, remove its .headwater folder first.",
        )
    name = title or root.name
    check_project_name(name, where="--title")
    project = client.projects.create(name)
    write_project_file(root, project.id, project.name)
    return project


def clone_project(
    client: Client,
    project_id: str,
    dest: Path | None = None,
    *,
    commit: str | None = None,
    progress: Progress | None = None,
) -> tuple[ProjectOut, Path, CommitOut | None]:
    """Clone a project's files into ``dest`` (default: a folder named after the project)."""
    project = client.scope.project(project_id)
    folder = (dest or Path.cwd() / project.name).absolute()
    version = clone_folder(
        client.files.repo(project=project.id),
        folder,
        client.cache().objects,
        project_id=project.id,
        name=project.name,
        commit=commit,
        progress=progress,
    )
    return project, folder, version


def here(start: Path | None = None) -> Path:
    """The linked folder a command runs in, or a clean error saying how to get one."""
    root = find_root(start)
    if root is None:
        raise NotFound(
            f"{(start or Path.cwd()).absolute()} is not inside a linked project folder",
            where=".headwater/project.yml",
            hint="Run this inside a folder made by `hw new`, `hw link` or `hw clone`.",
        )
    return root


def sync_here(
    client: Client,
    *,
    message: str = "",
    start: Path | None = None,
    progress: Progress | None = None,
) -> tuple[Path, SyncReport]:
    """Sync the linked folder around ``start`` with its own project: the one its
    ``project.yml`` names, whatever project the command would otherwise act on."""
    root = here(start)
    project_id = read_project_file(root)["id"]
    repo = client.files.repo_unchecked(project_id)  # a no-change sync is one request
    try:
        report = sync_folder(repo, root, client.cache().objects, message=message, progress=progress)
    except NotFound:
        client.scope.project(project_id)  # gone, or not yours: the error lists yours
        raise
    return root, report

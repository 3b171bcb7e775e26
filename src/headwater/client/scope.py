"""The active project: which project the project-scoped calls act on.

It is the configured project ID (argument, ``HEADWATER_PROJECT`` or ``config.json``), or the
caller's Personal project when none is set. An ID the caller cannot see fails once, cleanly,
naming the projects the caller can use instead, so a typo never turns into a confusing 404
on a secret or an env var.
"""

from __future__ import annotations

from itertools import islice

from headwater.client.auth import AuthClient
from headwater.client.http import HttpClient, segment
from headwater.client.projects import ProjectsClient
from headwater.domain.errors import NotFound
from headwater.schemas.projects import ProjectOut

LISTED_AT_MOST = 20


def usable(project: ProjectOut) -> bool:
    """Projects a user would pick: all but other users' Personal projects (admins see those)."""
    return not project.personal or project.role == "owner"


def label(project: ProjectOut) -> str:
    return f"{project.name} ({project.id})"


def unknown_project(projects: ProjectsClient, project_id: str, where: str | None) -> NotFound:
    """The error for an ID the caller cannot see, listing the projects they can."""
    choices = [p for p in projects.iter_all() if usable(p)]
    shown = ", ".join(label(p) for p in islice(choices, LISTED_AT_MOST))
    more = len(choices) - LISTED_AT_MOST
    if more > 0:
        shown += f" and {more} more (see `hw project list`)"
    return NotFound(
        f"no project with id {project_id!r} that you can access",
        where=where or "project",
        hint=f"Projects you can access: {shown}. Use one of these IDs (`hw configure`)."
        if choices
        else "You can access no project; create one with `hw project create NAME`.",
    )


class ProjectScope:
    """Resolves and remembers the active project, and any project named per call."""

    def __init__(
        self,
        projects: ProjectsClient,
        auth: AuthClient,
        configured: str | None,
        source: str | None = None,
    ) -> None:
        self._projects = projects
        self._auth = auth
        self.configured = configured
        self._source = source
        self._known: dict[str | None, ProjectOut] = {}

    def project(self, override: str | None = None) -> ProjectOut:
        """``override`` if given, else the active project; checked to exist once."""
        key = override or self.configured
        if key not in self._known:
            self._known[key] = self._load(key, "project" if override else self._source)
        return self._known[key]

    def id(self, override: str | None = None) -> str:
        return self.project(override).id

    def _load(self, project_id: str | None, where: str | None) -> ProjectOut:
        if project_id is None:
            me = self._auth.me()
            if me.personal_project_id is None:
                raise NotFound(
                    f"user {me.username} has no Personal project",
                    where="project",
                    hint="Choose a project with `hw configure --project ID`.",
                )
            return self._projects.get(me.personal_project_id)
        try:
            return self._projects.get(project_id)
        except NotFound as exc:
            raise unknown_project(self._projects, project_id, where) from exc


class ProjectScoped:
    """Base of the sub-clients that act inside one project (the active one by default)."""

    resource = ""  # the path under /projects/{id}, e.g. "secrets"

    def __init__(self, http: HttpClient, scope: ProjectScope) -> None:
        self._http = http
        self._scope = scope

    def _path(self, project: str | None, *parts: str) -> str:
        tail = "".join("/" + segment(p) for p in parts)
        return f"/projects/{segment(self._scope.id(project))}/{self.resource}{tail}"

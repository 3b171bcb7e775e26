"""A project's members and their access (read or all) per resource type."""

from __future__ import annotations

from headwater.client.http import payload
from headwater.client.scope import ProjectScoped
from headwater.domain.access import AccessLevel
from headwater.schemas.projects import MemberAdd, MemberOut, MemberUpdate

MemberList = list[MemberOut]
READ = AccessLevel.READ


class MembersClient(ProjectScoped):
    resource = "members"

    def list(self, *, project: str | None = None) -> MemberList:
        return self._http.call("GET", self._path(project), MemberList)

    def add(
        self,
        email: str,
        *,
        files: AccessLevel = READ,
        jobs: AccessLevel = READ,
        datasets: AccessLevel = READ,
        models: AccessLevel = READ,
        manage: bool = False,
        project: str | None = None,
    ) -> MemberOut:
        """Share the project with an existing user, found by email (or username)."""
        body = payload(
            MemberAdd,
            email=email,
            files=files,
            jobs=jobs,
            datasets=datasets,
            models=models,
            manage=manage,
        )
        return self._http.call("POST", self._path(project), MemberOut, json=body)

    def update(
        self,
        member: str,
        *,
        files: AccessLevel | None = None,
        jobs: AccessLevel | None = None,
        datasets: AccessLevel | None = None,
        models: AccessLevel | None = None,
        manage: bool | None = None,
        project: str | None = None,
    ) -> MemberOut:
        """Change the given levels; those left None stay as they are."""
        fields: dict[str, AccessLevel | bool | None] = {
            "files": files,
            "jobs": jobs,
            "datasets": datasets,
            "models": models,
            "manage": manage,
        }
        body = payload(MemberUpdate, **{k: v for k, v in fields.items() if v is not None})
        return self._http.call("PATCH", self._path(project, member), MemberOut, json=body)

    def remove(self, member: str, *, project: str | None = None) -> None:
        self._http.request("DELETE", self._path(project, member))

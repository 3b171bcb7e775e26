"""Projects: create, list, show, update, delete, leave, and their activity feed."""

from __future__ import annotations

from collections.abc import Iterator

from headwater.client.http import HttpClient, payload, segment
from headwater.schemas.common import Page
from headwater.schemas.projects import ActivityOut, ProjectCreate, ProjectOut, ProjectUpdate

ActivityList = list[ActivityOut]
PAGE_SIZE = 200


class ProjectsClient:
    def __init__(self, http: HttpClient) -> None:
        self._http = http

    def list(
        self, *, offset: int = 0, limit: int = 100, search: str | None = None
    ) -> Page[ProjectOut]:
        """One page of the projects the caller can see: owned, shared, public."""
        params = {"offset": offset, "limit": limit, "search": search}
        # `Page[...]` here, not at import: it builds Page's validator (and loads Pydantic's
        # plugin machinery), which every project-scoped command would pay before its request
        return self._http.call("GET", "/projects", Page[ProjectOut], params=params)

    def iter_all(self, *, search: str | None = None) -> Iterator[ProjectOut]:
        """Every project the caller can see, page after page."""
        offset = 0
        while True:
            page = self.list(offset=offset, limit=PAGE_SIZE, search=search)
            yield from page.items
            offset += len(page.items)
            if not page.items or offset >= page.total:
                return

    def get(self, project_id: str) -> ProjectOut:
        return self._http.call("GET", f"/projects/{segment(project_id)}", ProjectOut)

    def create(
        self,
        name: str,
        *,
        description: str = "",
        public: bool = False,
        keys_from_personal: bool = False,
    ) -> ProjectOut:
        body = payload(
            ProjectCreate,
            name=name,
            description=description,
            public=public,
            keys_from_personal=keys_from_personal,
        )
        return self._http.call("POST", "/projects", ProjectOut, json=body)

    def update(
        self, project_id: str, *, description: str | None = None, public: bool | None = None
    ) -> ProjectOut:
        """Change the description or the privacy; a project's name is fixed at creation."""
        fields = {"description": description, "public": public}
        body = payload(ProjectUpdate, **{k: v for k, v in fields.items() if v is not None})
        return self._http.call("PATCH", f"/projects/{segment(project_id)}", ProjectOut, json=body)

    def delete(self, project_id: str) -> None:
        self._http.request("DELETE", f"/projects/{segment(project_id)}")

    def leave(self, project_id: str) -> None:
        """Stop being a member of a project someone else owns."""
        self._http.request("POST", f"/projects/{segment(project_id)}/leave")

    def activity(
        self, project_id: str, *, limit: int = 50, before: int | None = None
    ) -> ActivityList:
        """The newest entries of the project's feed first; ``before`` pages further back."""
        return self._http.call(
            "GET",
            f"/projects/{segment(project_id)}/activity",
            ActivityList,
            params={"limit": limit, "before": before},
        )

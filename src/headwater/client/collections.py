"""A project's files, datasets and models: sub-clients that hand out ``RepoClient`` objects.

Datasets and models are named collections of versioned trees (seeds 001 and 004); the project's
files are one such tree. Datasets also keep queries: saved selections of files, resolved
against a version when a task or a pull asks for them.
"""

from __future__ import annotations

from headwater.client.http import payload, segment
from headwater.client.repos import RepoClient
from headwater.client.scope import ProjectScoped
from headwater.schemas.versions import (
    CommitResult,
    ModelFromExperiment,
    QueryCreate,
    QueryOut,
    QueryResolved,
    RepoCreate,
    RepoOut,
)

RepoList = list[RepoOut]
QueryList = list[QueryOut]


class FilesClient(ProjectScoped):
    """The project's versioned files (what `hw sync` and `hw clone` move)."""

    resource = "files"

    def repo(self, *, project: str | None = None) -> RepoClient:
        return RepoClient(self._http, self._path(project))

    def repo_unchecked(self, project: str) -> RepoClient:
        """The files of ``project`` as named, without asking first whether it exists: one
        request fewer, for a caller that explains a ``NotFound`` itself (``sync_here``)."""
        return RepoClient(self._http, f"/projects/{segment(project)}/{self.resource}")


class CollectionClient(ProjectScoped):
    """Named versioned trees of one kind in a project: create, list, get, delete, open."""

    def list(self, *, project: str | None = None) -> RepoList:
        return self._http.call("GET", self._path(project), RepoList)

    def get(self, name: str, *, project: str | None = None) -> RepoOut:
        """One of them with its latest version (``head``; None before the first push)."""
        return self._http.call("GET", self._path(project, name), RepoOut)

    def create(self, name: str, *, description: str = "", project: str | None = None) -> RepoOut:
        body = payload(RepoCreate, name=name, description=description)
        return self._http.call("POST", self._path(project), RepoOut, json=body)

    def delete(self, name: str, *, project: str | None = None) -> None:
        """Delete it with all its versions (blobs go at the next `hw admin gc`)."""
        self._http.request("DELETE", self._path(project, name))

    def repo(self, name: str, *, project: str | None = None) -> RepoClient:
        """Its versions, contents and transfers."""
        return RepoClient(self._http, self._path(project, name))


class DatasetsClient(CollectionClient):
    resource = "datasets"

    def create_query(
        self,
        dataset: str,
        name: str,
        filter: str,
        *,
        description: str = "",
        commit: str | None = None,
        project: str | None = None,
    ) -> QueryOut:
        """Save a selection of the dataset's files: globs, one per line, ``!`` excludes;
        pinned to ``commit`` or, by default, resolved against the latest version."""
        body = payload(QueryCreate, name=name, query=description, filter=filter, commit=commit)
        return self._http.call("POST", self._path(project, dataset, "queries"), QueryOut, json=body)

    def list_queries(self, dataset: str, *, project: str | None = None) -> QueryList:
        return self._http.call("GET", self._path(project, dataset, "queries"), QueryList)

    def resolve_query(
        self,
        dataset: str,
        name: str,
        *,
        commit: str | None = None,
        project: str | None = None,
    ) -> QueryResolved:
        """The files the query selects, at ``commit``, its pinned version, or the latest."""
        return self._http.call(
            "GET",
            self._path(project, dataset, "queries", name),
            QueryResolved,
            params={"commit": commit},
        )

    def delete_query(self, dataset: str, name: str, *, project: str | None = None) -> None:
        self._http.request("DELETE", self._path(project, dataset, "queries", name))


class ModelsClient(CollectionClient):
    """Models: versioned like datasets; registered from experiments' outputs or pushed."""

    resource = "models"

    def register_from_experiment(
        self,
        name: str,
        experiment: str | int,
        *,
        path: str | None = None,
        message: str = "",
        project: str | None = None,
    ) -> CommitResult:
        """Make experiment ``experiment``'s outputs (or ``path``, a file or folder under its
        output folder) the model's new version, creating the model if needed. No bytes move."""
        body = payload(ModelFromExperiment, experiment=str(experiment), path=path, message=message)
        where = self._path(project, name, "versions", "from-experiment")
        return self._http.call("POST", where, CommitResult, json=body)

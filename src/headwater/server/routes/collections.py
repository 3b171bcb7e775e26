"""Datasets and models as named, versioned collections in a project (seeds 001 and 004).

No ``from __future__ import annotations``: routes are made inside a function (see repos.py).
"""

from typing import Annotated

from fastapi import APIRouter, Depends

from headwater.db.repos.model_sources import ModelSourceRepo
from headwater.db.repos.projects import ProjectRepo
from headwater.db.repos.versions import QueryRepo, VersionRepo
from headwater.domain.access import Permission
from headwater.domain.entities import ActivityKind
from headwater.domain.trees import matching
from headwater.domain.versions import DatasetQuery, Repo, RepoKind
from headwater.schemas.versions import QueryCreate, QueryOut, QueryResolved, RepoCreate, RepoOut
from headwater.server.deps import PlatformDep, ProjectAccess, require
from headwater.server.routes.repos import commit_out, entry_model, tree_at


def repo_out(repo: Repo, platform: PlatformDep) -> RepoOut:
    with platform.db.read() as session:
        head = VersionRepo(session).head(repo.id)
        sources = ModelSourceRepo(session).of_commits([head.id]) if head else {}
    return RepoOut(
        id=repo.id,
        name=repo.name,
        kind=repo.kind.value,
        description=repo.description,
        created_at=repo.created_at,
        head=commit_out(head, sources.get(head.id)) if head else None,
    )


def query_out(query: DatasetQuery) -> QueryOut:
    return QueryOut(
        name=query.name,
        query=query.query,
        filter=query.filter,
        commit=query.commit,
        created_at=query.created_at,
    )


def collection_router(kind: RepoKind, prefix: str) -> APIRouter:
    router = APIRouter(prefix=prefix, tags=[kind.value])
    reader = require(Permission.read(kind.resource))
    writer = require(Permission.write(kind.resource))
    op = kind.value

    @router.get("", response_model=list[RepoOut], name=f"list_{op}s")
    def list_collection(
        access: Annotated[ProjectAccess, Depends(reader)], platform: PlatformDep
    ) -> list[RepoOut]:
        with platform.db.read() as session:
            repos = VersionRepo(session).list_repos(access.project.id, kind)
        return [repo_out(r, platform) for r in repos]

    @router.post("", response_model=RepoOut, status_code=201, name=f"create_{op}")
    def create_in_collection(
        body: RepoCreate,
        access: Annotated[ProjectAccess, Depends(writer)],
        platform: PlatformDep,
    ) -> RepoOut:
        with platform.db.write() as session:
            repo = VersionRepo(session).create(access.project.id, kind, body.name, body.description)
            ProjectRepo(session).activity.record(
                access.project.id,
                access.user.username,
                ActivityKind.RESOURCE_CREATED,
                f"created {op} {body.name}",
                {"kind": op, "name": body.name},
            )
        return repo_out(repo, platform)

    @router.get("/{name}", response_model=RepoOut, name=f"get_{op}")
    def get_from_collection(
        name: str, access: Annotated[ProjectAccess, Depends(reader)], platform: PlatformDep
    ) -> RepoOut:
        with platform.db.read() as session:
            repo = VersionRepo(session).get(access.project.id, kind, name)
        return repo_out(repo, platform)

    @router.delete("/{name}", status_code=204, name=f"delete_{op}")
    def delete_from_collection(
        name: str, access: Annotated[ProjectAccess, Depends(writer)], platform: PlatformDep
    ) -> None:
        with platform.db.write() as session:
            versions = VersionRepo(session)
            versions.delete_repo(versions.get(access.project.id, kind, name))
            ProjectRepo(session).activity.record(
                access.project.id,
                access.user.username,
                ActivityKind.RESOURCE_DELETED,
                f"deleted {op} {name}",
                {"kind": op, "name": name},
            )

    return router


def queries_router() -> APIRouter:
    router = APIRouter(prefix="/projects/{project_id}/datasets/{name}/queries", tags=["dataset"])
    reader = require(Permission.DATASETS_READ)
    writer = require(Permission.DATASETS_WRITE)

    def dataset(access: ProjectAccess, platform: PlatformDep, name: str) -> Repo:
        with platform.db.read() as session:
            return VersionRepo(session).get(access.project.id, RepoKind.DATASET, name)

    @router.get("", response_model=list[QueryOut])
    def list_queries(
        name: str, access: Annotated[ProjectAccess, Depends(reader)], platform: PlatformDep
    ) -> list[QueryOut]:
        repo = dataset(access, platform, name)
        with platform.db.read() as session:
            return [query_out(q) for q in QueryRepo(session).list_queries(repo)]

    @router.post("", response_model=QueryOut, status_code=201)
    def create_query(
        name: str,
        body: QueryCreate,
        access: Annotated[ProjectAccess, Depends(writer)],
        platform: PlatformDep,
    ) -> QueryOut:
        repo = dataset(access, platform, name)
        commit = None
        if body.commit:
            commit, _ = tree_at(platform, repo, body.commit)
        with platform.db.write() as session:
            query = QueryRepo(session).create(
                repo, body.name, body.query, body.filter, commit.id if commit else None
            )
        return query_out(query)

    @router.get("/{query}", response_model=QueryResolved)
    def resolve_query(
        name: str,
        query: str,
        access: Annotated[ProjectAccess, Depends(reader)],
        platform: PlatformDep,
        commit: str | None = None,
    ) -> QueryResolved:
        """The files the query selects, at its pinned version, ``commit``, or the latest."""
        repo = dataset(access, platform, name)
        with platform.db.read() as session:
            saved = QueryRepo(session).get(repo, query)
        found, tree = tree_at(platform, repo, commit or saved.commit)
        selected = matching(tree, saved.filter)
        return QueryResolved(
            query=query_out(saved),
            commit=commit_out(found),
            entries=[entry_model(e) for e in selected.entries],
        )

    @router.delete("/{query}", status_code=204)
    def delete_query(
        name: str,
        query: str,
        access: Annotated[ProjectAccess, Depends(writer)],
        platform: PlatformDep,
    ) -> None:
        repo = dataset(access, platform, name)
        with platform.db.write() as session:
            QueryRepo(session).delete(repo, query)

    return router


datasets_collection = collection_router(RepoKind.DATASET, "/projects/{project_id}/datasets")
models_collection = collection_router(RepoKind.MODEL, "/projects/{project_id}/models")
dataset_queries = queries_router()

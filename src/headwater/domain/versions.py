"""Versioned repositories: project files, datasets and models share one model of commits."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from headwater.domain.access import ResourceType
from headwater.domain.errors import Conflict

DEFAULT_BRANCH = "master"


class RepoKind(StrEnum):
    FILES = "files"
    DATASET = "dataset"
    MODEL = "model"

    @property
    def resource(self) -> ResourceType:
        return {
            RepoKind.FILES: ResourceType.FILES,
            RepoKind.DATASET: ResourceType.DATASETS,
            RepoKind.MODEL: ResourceType.MODELS,
        }[self]


@dataclass(frozen=True)
class Repo:
    id: str
    project_id: str
    kind: RepoKind
    name: str
    description: str
    created_at: datetime


@dataclass(frozen=True)
class BlobScope:
    """Whose blobs a caller may name: those of ``project_id``'s repositories of the ``kinds``
    the caller may read (and whatever was uploaded into the repository committed to)."""

    project_id: str
    kinds: frozenset[RepoKind]


@dataclass(frozen=True)
class Commit:
    id: str
    repo_id: str
    tree: str
    parents: tuple[str, ...]
    author: str
    message: str
    created_at: datetime
    files: int
    size: int


@dataclass(frozen=True)
class DatasetQuery:
    name: str
    query: str
    filter: str
    commit: str | None
    created_at: datetime


def commit_id(
    repo_id: str, tree: str, parents: tuple[str, ...], author: str, message: str, at: datetime
) -> str:
    """A commit is named by the hash of what it records, like git's."""
    body = json.dumps(
        [repo_id, tree, list(parents), author, message, at.isoformat()], separators=(",", ":")
    )
    return hashlib.sha256(body.encode()).hexdigest()


class StaleHead(Conflict):
    """The branch moved between reading its head and writing the new commit; retry."""

    def __init__(self, branch: str) -> None:
        super().__init__(
            f"branch {branch!r} moved while this commit was being written",
            where="branch",
            hint="Sync again.",
        )

"""Versioned files, datasets and models: objects, trees, commits, diffs, queries."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from headwater.domain.diffs import CellDiff, FileDiff, Hunk, PreviewOut
from headwater.domain.versions import DEFAULT_BRANCH
from headwater.schemas.common import Model, Schema

__all__ = [
    "CellDiff",
    "CommitCreate",
    "CommitOut",
    "CommitResult",
    "DiffOut",
    "EntryModel",
    "FileDiff",
    "FsckOut",
    "GcOut",
    "GcRequest",
    "HashList",
    "Hunk",
    "MissingOut",
    "ModelFromExperiment",
    "ModelSourceOut",
    "PreviewOut",
    "QueryCreate",
    "QueryOut",
    "QueryResolved",
    "RepoCreate",
    "RepoOut",
    "TreeOut",
]

HASH = r"^[0-9a-f]{64}$"


class EntryModel(Model):
    path: str = Field(min_length=1, max_length=4096)
    hash: str = Field(pattern=HASH)
    size: int = Field(ge=0)
    mode: int = Field(0o644, description="0o644, or 0o755 for an executable file")


class HashList(Model):
    hashes: list[str] = Field(max_length=200_000)


class MissingOut(Schema):
    missing: list[str]


class CommitCreate(Model):
    base: str | None = Field(None, description="The commit this tree was edited from")
    entries: list[EntryModel] = Field(max_length=1_000_000)
    message: str = Field("", max_length=10_000)
    branch: str = Field(DEFAULT_BRANCH, min_length=1, max_length=255)


class ModelSourceOut(Schema):
    """The experiment a model version was registered from, as it was then."""

    experiment_id: str
    experiment_number: int
    path: str = Field(
        description="What was registered: the output folder, or a file or folder in it"
    )
    params: dict[str, str]
    metrics: dict[str, float] = Field(description="The last value logged of each metric")


class ModelFromExperiment(Model):
    experiment: str = Field(min_length=1, max_length=64, description="Its number or id")
    path: str | None = Field(
        None, max_length=4096, description="A file or folder under the output folder; default all"
    )
    message: str = Field("", max_length=10_000)
    description: str = Field("", max_length=10_000, description="For a model made by this call")


class CommitOut(Schema):
    id: str
    tree: str
    parents: list[str]
    author: str
    message: str
    created_at: datetime
    files: int
    size: int
    source: ModelSourceOut | None = Field(
        None, description="A model version: the experiment it was registered from"
    )


class CommitResult(CommitOut):
    merged: bool = Field(description="The branch had moved; the change was merged onto it")
    unchanged: bool = Field(description="Nothing differed: no new version was written")


class BranchOut(Schema):
    """A branch and the version at its head (an experiment's branch: its outputs)."""

    name: str
    head: CommitOut


class TreeOut(Schema):
    commit: CommitOut
    entries: list[EntryModel]


class RepoCreate(Model):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = Field("", max_length=10_000)


class RepoOut(Schema):
    id: str
    name: str
    kind: str
    description: str
    created_at: datetime
    head: CommitOut | None


class DiffOut(Schema):
    a: str
    b: str
    files: list[FileDiff]


class QueryCreate(Model):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    query: str = Field("", max_length=10_000, description="What the selection is for")
    filter: str = Field(min_length=1, max_length=10_000, description="Glob(s), one per line")
    commit: str | None = Field(None, description="Pin to a version; default: the latest")


class QueryOut(Schema):
    name: str
    query: str
    filter: str
    commit: str | None
    created_at: datetime


class QueryResolved(Schema):
    query: QueryOut
    commit: CommitOut
    entries: list[EntryModel]


class FsckOut(Schema):
    checked: int
    corrupt: list[str]
    missing: list[str]
    ok: bool


class GcRequest(Model):
    grace_hours: float = Field(24, ge=0, le=24 * 365, description="Keep blobs younger than this")
    dry_run: bool = False


class GcOut(Schema):
    removed: int
    bytes_freed: int
    kept_young: int
    leftovers: int = Field(0, description="Temp files of interrupted writes (bytes included)")
    dry_run: bool

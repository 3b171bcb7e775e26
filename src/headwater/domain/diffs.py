"""What a diff between two versions, and a file preview, look like: plain data models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from headwater.domain.trees import ChangeKind


class _Data(BaseModel):
    """Validators built on first use, not on import (``hw`` imports these with the versions
    schemas, before its first request)."""

    model_config = ConfigDict(defer_build=True)


class Hunk(_Data):
    """Side-by-side lines: each row has the left and right line (None where absent)."""

    old_start: int
    new_start: int
    rows: list[tuple[str | None, str | None, str]] = Field(
        description="(left, right, tag) with tag equal, removed, added or changed"
    )


class CellDiff(_Data):
    index: int
    cell_type: str
    status: str = Field(description="unchanged, added, removed or modified")
    old_source: str | None
    new_source: str | None
    outputs_changed: bool = Field(
        False,
        description="old and new outputs differ (execution counts aside), whatever the source",
    )


class FileDiff(_Data):
    path: str
    kind: ChangeKind
    old_size: int | None
    new_size: int | None
    format: str = Field(description="text, notebook or binary")
    unified: str | None = None
    hunks: list[Hunk] = Field(default_factory=list)
    cells: list[CellDiff] = Field(default_factory=list)


class PreviewOut(_Data):
    path: str
    kind: str = Field(description="text, csv, image, notebook or binary")
    size: int
    content_type: str
    text: str | None = None
    columns: list[str] = Field(default_factory=list)
    rows: list[list[str]] = Field(default_factory=list)
    offset: int = Field(0, description="csv: how many rows come before the first one here")
    cells: list[dict[str, object]] = Field(default_factory=list)
    truncated: bool = False

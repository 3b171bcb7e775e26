"""Workspaces (issue 15): start, show, save and stop a project's JupyterLab."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from headwater.domain.workspaces import WorkspaceKind, WorkspaceState
from headwater.schemas.common import Model, Schema


class WorkspaceStart(Model):
    name: str = Field("lab", min_length=1, max_length=63, description="Unique among running ones")
    compute: str | None = Field(None, max_length=100, description="A compute template's name")
    datasets: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Mounted in data/NAME/: NAME, NAME@COMMIT or NAME:QUERY",
    )
    commit: str | None = Field(None, max_length=64, description="Files version; default: head")
    git_branch: str | None = Field(None, max_length=255)
    git_commit: str | None = Field(None, max_length=64)
    idle_seconds: int | None = Field(
        None, ge=1, le=30 * 24 * 3600, description="Culled after this long idle"
    )
    max_age_seconds: int | None = Field(
        None, ge=1, le=365 * 24 * 3600, description="Culled this long after it started"
    )


class WorkspaceSave(Model):
    message: str = Field("", max_length=2000)


class WorkspaceStop(Model):
    discard: bool = Field(False, description="Stop without saving the folder's changes")
    message: str = Field("", max_length=2000)


class TensorBoardStart(Model):
    name: str = Field(
        "tensorboard", min_length=1, max_length=63, description="Unique among running ones"
    )
    experiments: list[int] = Field(
        default_factory=list, max_length=100, description="Experiment numbers whose logs it shows"
    )
    flow_run: str | None = Field(
        None, max_length=64, description="A flow run (id or number): all its experiments"
    )
    compute: str | None = Field(None, max_length=100, description="A compute template's name")
    idle_seconds: int | None = Field(
        None, ge=1, le=30 * 24 * 3600, description="Culled after this long idle"
    )
    max_age_seconds: int | None = Field(
        None, ge=1, le=365 * 24 * 3600, description="Culled this long after it started"
    )


class WorkspaceOut(Schema):
    id: str
    project_id: str
    name: str
    kind: WorkspaceKind = Field(
        WorkspaceKind.JUPYTER, description="jupyter, or tensorboard (nothing to save)"
    )
    follows: str | None = Field(
        None, description="An automatic TensorBoard: the experiment whose run it shows"
    )
    state: WorkspaceState
    experiment_id: str
    experiment_number: int
    url: str = Field(description="Where it opens, through the server's proxy")
    created_by: str
    created_at: datetime
    ready_at: datetime | None
    last_activity: datetime
    culls_at: datetime | None = Field(description="When the culler stops it if left alone")
    idle_seconds: int
    max_age_seconds: int
    base_commit: str | None
    saved_commit: str | None
    saved_at: datetime | None
    ended_at: datetime | None
    reason: str | None


class WorkspaceSaved(Schema):
    commit: str | None = Field(description="The new version (or the head, when unchanged)")
    merged: bool
    unchanged: bool
    workspace: WorkspaceOut

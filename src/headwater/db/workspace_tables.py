"""The workspaces table (issue 15): one row per JupyterLab workspace of a project, beside the
experiment row that runs it. ``domain/workspaces.py`` owns the states and the culling rule."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from headwater.db.tables import Base, utcnow


class WorkspaceRow(Base):
    """A workspace: its task (``experiment_id``), where it listens, the token its JupyterLab
    checks (sealed with the server's SecretBox: only the proxy ever sends it), the version it
    started from (the base of its save's three-way merge) and its culling settings."""

    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    experiment_id: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(63))
    state: Mapped[str] = mapped_column(String(16), default="starting")
    address: Mapped[str | None] = mapped_column(String(500))  # unix:/path, once it answers
    token_sealed: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column()
    last_activity: Mapped[datetime] = mapped_column(default=utcnow)
    idle_seconds: Mapped[int] = mapped_column(Integer)
    max_age_seconds: Mapped[int] = mapped_column(Integer)
    base_commit: Mapped[str | None] = mapped_column(String(64))  # what it started from
    saved_commit: Mapped[str | None] = mapped_column(String(64))  # its latest save
    saved_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(Text)
    # "jupyter" or "tensorboard" (domain.workspaces.WorkspaceKind); ``follows``: the experiment
    # an automatic TensorBoard serves while it runs (the project setting ``tensorboard``)
    kind: Mapped[str] = mapped_column(String(16), default="jupyter", server_default="jupyter")
    follows: Mapped[str | None] = mapped_column(String(16), index=True)

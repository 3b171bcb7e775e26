"""Endpoints (issue 13): what the management API answers about an endpoint."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class EndpointOut(BaseModel):
    """An endpoint: ``title`` in its project, ``slug`` in its URL
    (``/api/v1/endpoints/<slug>/predict``)."""

    id: str
    title: str
    slug: str
    status: str
    desired: str = Field(description="running or stopped: what the owner asked for")
    min_replicas: int
    max_replicas: int
    replicas_wanted: int = Field(description="What the autoscaler chose within the bounds")
    definition: dict[str, object] = Field(description="The deploy task's fields as recorded")
    flow_run: int | None = Field(None, description="The bake that last defined it")
    created_at: datetime
    updated_at: datetime

"""The tables of serving (issue 13): endpoints, their versions and replicas, keys, the sampled
request log and the traffic buckets the autoscaler, the rollout controller and the charts read.

States are stored as short strings; ``domain/endpoints.py`` owns their vocabularies and
transitions. Stats go through the database (not process memory) so several server processes on
one PostgreSQL see the same traffic.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from headwater.db.tables import Base, utcnow


class EndpointRow(Base):
    """An endpoint: what serves under ``/api/v1/endpoints/<slug>/``. ``title`` is unique in its
    project (the deploy task's ``endpoint_title``); ``slug`` is unique on the server (the URL)."""

    __tablename__ = "endpoints"
    __table_args__ = (UniqueConstraint("project_id", "title", name="project_endpoint_title"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="defined")
    # the latest definition (the deploy task's keys), as the flow editor and `show` display it
    definition: Mapped[dict[str, Any]] = mapped_column(default=dict)
    flow_run_id: Mapped[str | None] = mapped_column(String(16))
    min_replicas: Mapped[int] = mapped_column(Integer, default=1)
    max_replicas: Mapped[int] = mapped_column(Integer, default=1)
    replicas_wanted: Mapped[int] = mapped_column(Integer, default=1)  # the autoscaler's choice
    desired: Mapped[str] = mapped_column(String(16), default="running")  # running | stopped
    key_hash: Mapped[str | None] = mapped_column(String(64))  # the endpoint's own key
    key_prefix: Mapped[str | None] = mapped_column(String(16))  # shown to tell keys apart
    # request-log sampling (all, none, 1/N) and other per-endpoint options
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    scaled_at: Mapped[datetime | None] = mapped_column()  # the autoscaler's last change


class EndpointVersionRow(Base):
    """One deployment of an endpoint: the code and model it serves, and its share of traffic."""

    __tablename__ = "endpoint_versions"
    __table_args__ = (UniqueConstraint("endpoint_id", "number", name="endpoint_version_number"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(
        ForeignKey("endpoints.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    traffic: Mapped[int] = mapped_column(Integer, default=0)  # percent of requests, 0..100
    # file_name, function_name, config_vars, accept_files, env_setup, computes, image
    definition: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # where the code and artifacts come from: start commit, parents' outputs, git, model version
    source: Mapped[dict[str, Any]] = mapped_column(default=dict)
    flow_run_id: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)  # why it failed or was rolled back
    created_by: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    stepped_at: Mapped[datetime | None] = mapped_column()  # the rollout's last traffic step
    ended_at: Mapped[datetime | None] = mapped_column()


class EndpointReplicaRow(Base):
    """A replica: a long-lived task (an experiment row) serving one version."""

    __tablename__ = "endpoint_replicas"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(
        ForeignKey("endpoints.id", ondelete="CASCADE"), index=True
    )
    version_id: Mapped[str] = mapped_column(
        ForeignKey("endpoint_versions.id", ondelete="CASCADE"), index=True
    )
    experiment_id: Mapped[str] = mapped_column(String(16), index=True)
    state: Mapped[str] = mapped_column(String(16), default="starting")
    address: Mapped[str | None] = mapped_column(String(500))  # unix:/path or http://host:port
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()


class EndpointKeyRow(Base):
    """The project's single deploy key (setting ``single_deploy_api_key``): one per project."""

    __tablename__ = "endpoint_keys"

    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    key_hash: Mapped[str] = mapped_column(String(64))
    key_prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EndpointRequestRow(Base):
    """A sampled request: what came in and went out (truncated), how long it took."""

    __tablename__ = "endpoint_requests"
    __table_args__ = (Index("ix_endpoint_requests_endpoint_at", "endpoint_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("endpoints.id", ondelete="CASCADE"))
    version_id: Mapped[str | None] = mapped_column(String(16))
    request_id: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    latency_ms: Mapped[float] = mapped_column(Float)
    status: Mapped[int] = mapped_column(Integer)
    input: Mapped[str] = mapped_column(Text, default="")
    output: Mapped[str] = mapped_column(Text, default="")


class EndpointTrafficRow(Base):
    """Traffic of one (endpoint, version) in one time bucket, as one server process saw it;
    readers add up the processes. ``latency`` is a ``domain/latency.py`` histogram as a list."""

    __tablename__ = "endpoint_traffic"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "version_id", "bucket", "source", name="traffic_bucket"),
        Index("ix_endpoint_traffic_endpoint_bucket", "endpoint_id", "bucket"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("endpoints.id", ondelete="CASCADE"))
    version_id: Mapped[str] = mapped_column(String(16))
    bucket: Mapped[datetime] = mapped_column()  # the bucket's start
    source: Mapped[str] = mapped_column(String(40))  # the server process that counted
    requests: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)  # 5xx answers
    inflight_peak: Mapped[int] = mapped_column(Integer, default=0)
    latency: Mapped[list[int]] = mapped_column(JSON, default=list)

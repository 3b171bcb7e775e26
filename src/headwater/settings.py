"""Typed settings, read from ``HEADWATER_*`` variables by a cached factory (never at import)."""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from headwater.domain.autoscale import AutoscalePolicy
from headwater.domain.endpoints import MAX_REPLICAS
from headwater.domain.errors import InvalidInput
from headwater.domain.rollout import RolloutPolicy
from headwater.domain.sampling import SampleRule, parse_rule

DEFAULT_PORT = 8765


def default_home() -> Path:
    return Path.home() / ".headwater" / "server"


class ServingSettings(BaseSettings):
    """Endpoints (docs/endpoints.md): limits of the gateway, the request log's defaults, and
    the autoscaler's and the rollout's policies. ``HEADWATER_SERVING_*``."""

    model_config = SettingsConfigDict(env_prefix="HEADWATER_SERVING_", extra="ignore")

    body_limit_bytes: int = Field(
        10 << 20, ge=1024, description="Largest predict request body in bytes (413 past it)"
    )
    max_replicas: int = Field(
        MAX_REPLICAS, ge=1, description="Most replicas one endpoint version may ask for"
    )
    request_log: str = Field(
        "all", description="Requests logged where neither endpoint nor project says: all, none, 1/N"
    )
    logged_body_bytes: int = Field(
        4096, ge=64, description="Bytes of each logged input and output kept (the rest is cut)"
    )
    autoscale_target: float = Field(
        4.0, gt=0, description="In-flight requests per replica the autoscaler aims for"
    )
    autoscale_up_after: float = Field(
        30.0, ge=0, description="Seconds above target before a replica is added"
    )
    autoscale_down_after: float = Field(
        300.0, ge=0, description="Seconds of lower load before a replica is removed"
    )
    autoscale_cooldown: float = Field(60.0, ge=0, description="Seconds between two changes")
    rollout_first_percent: int = Field(
        10, ge=1, le=100, description="A new version's first share of the traffic"
    )
    rollout_step_percent: int = Field(20, ge=1, le=100, description="Share added each step")
    rollout_interval: float = Field(60.0, ge=0, description="Seconds between two steps")
    rollout_min_requests: int = Field(
        100, ge=0, description="Canary requests in a step before any verdict"
    )
    rollout_max_error_rate: float = Field(
        0.05, ge=0, le=1, description="Canary error rate that rolls it back"
    )
    rollout_max_p99_ratio: float | None = Field(
        2.0, gt=0, description="Canary p99 over the stable version's that rolls it back"
    )
    rollout_max_p99_ms: float | None = Field(
        None, gt=0, description="Canary p99 in ms that rolls it back (unset: no limit)"
    )
    controller: bool = Field(
        True,
        description="Run the serving controller (off: endpoints stay as the database has them, "
        "nothing starts or stops replicas; for testing the gateway alone)",
    )

    @field_validator("request_log")
    @classmethod
    def _sample_rule(cls, rule: str) -> str:
        try:
            return str(parse_rule(rule))
        except InvalidInput as error:
            raise ValueError(f"{error.detail}. {error.hint}") from None

    def sample_rule(self) -> SampleRule:
        return parse_rule(self.request_log)

    def autoscale_policy(self) -> AutoscalePolicy:
        return AutoscalePolicy(
            target=self.autoscale_target,
            up_after=self.autoscale_up_after,
            down_after=self.autoscale_down_after,
            cooldown=self.autoscale_cooldown,
        )

    def rollout_policy(self) -> RolloutPolicy:
        return RolloutPolicy(
            first_percent=self.rollout_first_percent,
            step_percent=self.rollout_step_percent,
            interval=self.rollout_interval,
            min_requests=self.rollout_min_requests,
            max_error_rate=self.rollout_max_error_rate,
            max_p99_ratio=self.rollout_max_p99_ratio,
            max_p99_ms=self.rollout_max_p99_ms,
        )


class ServerSettings(BaseSettings):
    """What ``hw server`` needs: where it keeps its state and how it listens."""

    model_config = SettingsConfigDict(env_prefix="HEADWATER_", extra="ignore")

    home: Path = Field(default_factory=default_home)
    database_url: str | None = None
    secret_key: str | None = Field(None, description="Fernet key; generated into home if unset")
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    session_hours: int = Field(24 * 7, ge=1, description="How long a UI session lasts")
    public_url: str | None = Field(
        None, description="How tasks and links reach this server; default http://host:port"
    )
    engine: bool = Field(True, description="Run the scheduler here (off: serve the API only)")
    leader_retry_seconds: float = Field(
        5.0,
        gt=0,
        le=10,
        description="How often a server that does not lead the engine tries to (servers on one "
        "PostgreSQL): a failover waits at most this long after the leader's connection ends",
    )
    executor: str = Field("local", description="Where tasks run: local, ray, kubernetes")
    ray_address: str | None = Field(
        None,
        description="The Ray cluster of the ray executor: auto, ray://host:10001 or "
        "http://host:8265 (unset: a head on this machine, started by the server)",
    )
    ray_dispatch: Literal["pool", "jobs"] = Field(
        "pool",
        description="How the ray executor runs a task: pool (in Ray's reused worker "
        "processes, a dispatch of milliseconds) or jobs (a Ray Job each, seconds a task)",
    )
    ray_python: str | None = Field(
        None, description="The interpreter on the Ray nodes (default: python; this one locally)"
    )
    ray_serve_port: int = Field(
        8000, ge=1, le=65535, description="The port of Ray Serve's HTTP proxy on the Ray nodes"
    )
    ray_serve_host: str = Field(
        "127.0.0.1",
        description="Where the gateway reaches Ray Serve's proxy: a node, or a balancer in "
        "front of the nodes (endpoint replicas run as Ray Serve replicas)",
    )
    worker_idle_exit: float = Field(300.0, gt=0, description="Seconds an idle worker stays")
    flow_max_instances: int = Field(
        10_000,
        ge=1,
        le=1_000_000,
        description="Most instances one task of a flow run may have (checked at import where "
        "the grids make the count certain, else as the task starts)",
    )
    workspace_check_seconds: float = Field(
        10.0, gt=0, description="How often idle workspaces are looked for (and culled)"
    )
    monitor_sample_seconds: float = Field(
        5.0, ge=1, le=600, description="How often compute usage is sampled for Monitoring"
    )
    monitor_history_minutes: int = Field(
        60, ge=1, le=1440, description="How much usage history Monitoring keeps (in memory)"
    )
    smtp_host: str | None = Field(None, description="Mail server for notifications")
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_sender: str = "headwater@localhost"
    # -- the sandbox tasks run in (the local executor, Linux; see docs/getting-started.md) --
    sandbox: bool = Field(True, description="Run tasks in bubblewrap (off: --no-sandbox)")
    sandbox_bwrap: Path = Field(Path("/usr/bin/bwrap"), description="The bwrap program")
    sandbox_setpriv: Path = Field(
        Path("/usr/bin/setpriv"), description="Drops a task's uid when the server is root"
    )
    sandbox_network: bool = Field(True, description="Tasks reach the network (and the API)")
    sandbox_read_only: Annotated[list[Path], NoDecode] = Field(
        default_factory=list, description="More folders tasks may read (':'-separated)"
    )
    sandbox_read_write: Annotated[list[Path], NoDecode] = Field(
        default_factory=list, description="Folders tasks may write too (':'-separated)"
    )
    task_uid: int = Field(65534, ge=1, description="The uid tasks run as when the server is root")
    task_gid: int = Field(65534, ge=1, description="The gid tasks run as when the server is root")
    task_env_pass: str = Field(
        "",
        description="More of the server's environment variables tasks inherit, by name "
        "(comma-separated; read by the worker, see runtime/taskenv.py)",
    )
    serving: ServingSettings = Field(
        default_factory=ServingSettings, description="Endpoints: HEADWATER_SERVING_*"
    )

    @field_validator("sandbox_read_only", "sandbox_read_write", mode="before")
    @classmethod
    def _paths(cls, value: object) -> object:
        """A ``PATH``-like list in the environment (``/data:/models``), or a list."""
        if isinstance(value, str):
            return [Path(part) for part in value.split(os.pathsep) if part]
        return value

    def sandbox_options(self) -> dict[str, Any] | None:
        """What the local worker needs to build its sandbox; None when it is off."""
        if not self.sandbox:
            return None
        return {
            "bwrap": str(self.sandbox_bwrap),
            "setpriv": str(self.sandbox_setpriv),
            "network": self.sandbox_network,
            "read_only": [str(p.resolve()) for p in self.sandbox_read_only],
            "read_write": [str(p.resolve()) for p in self.sandbox_read_write],
            "uid": self.task_uid,
            "gid": self.task_gid,
        }

    # Limits and exposure: what one request may carry (checked before anything parses it),
    # and who may read the API docs and /metrics.
    max_body_bytes: int = Field(
        8 << 20, ge=1024, description="Largest JSON request body in bytes (413 past it)"
    )
    max_commit_bytes: int = Field(
        32 << 20, ge=1024, description="Largest commit body in bytes (~150 bytes per file)"
    )
    max_json_depth: int = Field(
        64, ge=8, le=500, description="Deepest nesting of arrays and objects in a JSON body"
    )
    public_docs: bool | None = Field(
        None,
        description="/docs, /redoc, the OpenAPI document and /metrics without login; "
        "unset: public when the server listens on loopback only, login otherwise",
    )
    # Requests the server sends to user-given URLs (webhooks, Slack): public addresses only,
    # unless the admin opens more (see domain/addresses.py and docs/experiments.md).
    webhook_allow_private: bool = Field(
        False,
        description="Let webhooks and Slack reach loopback, private, link-local and the "
        "server's own addresses (a trusted server only)",
    )
    webhook_allow_networks: str = Field(
        "",
        description="Comma-separated CIDRs webhooks may reach even though they are not public",
    )

    @field_validator("webhook_allow_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        for item in filter(None, (part.strip() for part in value.split(","))):
            ipaddress.ip_network(item, strict=False)  # ValueError names the bad one
        return value

    def resolved_public_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    def docs_are_public(self) -> bool:
        if self.public_docs is not None:
            return self.public_docs
        return is_loopback(self.host)

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'headwater.db'}"


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only (``0.0.0.0`` is every address)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: whatever it resolves to may be public


@lru_cache
def get_settings() -> ServerSettings:
    return ServerSettings()

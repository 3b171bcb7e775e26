"""Typed settings, read from ``HEADWATER_*`` variables by a cached factory (never at import)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORT = 8765


def default_home() -> Path:
    return Path.home() / ".headwater" / "server"


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
    executor: str = Field("local", description="Where tasks run: local, ray, kubernetes")
    worker_idle_exit: float = Field(300.0, gt=0, description="Seconds an idle worker stays")
    smtp_host: str | None = Field(None, description="Mail server for notifications")
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_sender: str = "headwater@localhost"
    # Requests the server sends to user-given URLs (webhooks, Slack): public addresses only,
    # unless the admin opens more (see domain/addresses.py and docs/notifications.md).
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

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'headwater.db'}"


@lru_cache
def get_settings() -> ServerSettings:
    return ServerSettings()

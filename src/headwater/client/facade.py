"""``Client``: one object that holds the connection and one sub-client per resource."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from headwater.client.admin import AdminClient
from headwater.client.auth import AuthClient
from headwater.client.collections import DatasetsClient, FilesClient, ModelsClient
from headwater.client.compute import ComputeClient
from headwater.client.config import ClientConfig, cache_days, config_dir, resolve_config
from headwater.client.datacache import DataCache
from headwater.client.env import EnvClient
from headwater.client.experiments import ExperimentsClient
from headwater.client.flows import FlowsClient
from headwater.client.http import DEFAULT_TIMEOUT, HttpClient
from headwater.client.keys import KeysClient
from headwater.client.live import LiveClient
from headwater.client.members import MembersClient
from headwater.client.projects import ProjectsClient
from headwater.client.scope import ProjectScope
from headwater.client.secrets import SecretsClient
from headwater.client.settings import SettingsClient
from headwater.client.users import UsersClient
from headwater.client.webhooks import WebhooksClient
from headwater.schemas.projects import ProjectOut

Health = dict[str, Any]


class Client:
    """The Headwater SDK.

    ``url``, ``token`` and ``project`` default to ``HEADWATER_URL``, ``HEADWATER_TOKEN`` and
    ``HEADWATER_PROJECT``, then to ``config.json`` (see ``headwater.client.config``).
    ``project`` is a project ID; inside a linked folder (``.headwater/project.yml``) the folder's
    project comes before ``config.json``'s. Project-scoped calls (files, datasets, models, env,
    settings, secrets, keys, webhooks, members) act on it, or on the caller's Personal project
    when none is set, and each takes ``project=`` to act on another one.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        project: str | None = None,
        *,
        config_dir: Path | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.config: ClientConfig = resolve_config(url, token, project, directory=config_dir)
        self.config_dir = config_dir
        self.http = HttpClient(
            self.config.url, self.config.token, timeout=timeout, transport=transport
        )
        self.auth = AuthClient(self.http)
        self.users = UsersClient(self.http)
        self.projects = ProjectsClient(self.http)
        self.scope = ProjectScope(
            self.projects, self.auth, self.config.project, self.config.project_source
        )
        self.members = MembersClient(self.http, self.scope)
        self.env = EnvClient(self.http, self.scope)
        self.settings = SettingsClient(self.http, self.scope)
        self.secrets = SecretsClient(self.http, self.scope)
        self.keys = KeysClient(self.http, self.scope)
        self.webhooks = WebhooksClient(self.http, self.scope)
        self.files = FilesClient(self.http, self.scope)
        self.datasets = DatasetsClient(self.http, self.scope)
        self.models = ModelsClient(self.http, self.scope)
        self.experiments = ExperimentsClient(self.http, self.scope)
        self.flows = FlowsClient(self.http, self.scope)
        self.live = LiveClient(self.experiments)
        self.admin = AdminClient(self.http)
        self.compute = ComputeClient(self.http)

    @property
    def url(self) -> str:
        return self.config.url

    def active_project(self) -> ProjectOut:
        """The project calls act on by default; an unknown ID raises NotFound listing the
        projects the caller can access."""
        return self.scope.project()

    def cache(self) -> DataCache:
        """The local cache of downloaded blobs and dataset/model versions, in ``cache/`` of
        the config folder: clones and pulls of a version already there download nothing."""
        return DataCache((self.config_dir or config_dir()) / "cache", evict_days=cache_days())

    def health(self) -> Health:
        """The server's ``/healthz`` answer (needs no token); ServerUnreachable when down."""
        return self.http.call("GET", "/healthz", Health, api=False)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

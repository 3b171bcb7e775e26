"""``Client``: one object that holds the connection and one sub-client per resource."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from headwater.client.auth import AuthClient
from headwater.client.config import ClientConfig, cache_days, config_dir, resolve_config
from headwater.client.http import DEFAULT_TIMEOUT, HttpClient

if TYPE_CHECKING:
    import httpx

    from headwater.client.admin import AdminClient
    from headwater.client.collections import DatasetsClient, FilesClient, ModelsClient
    from headwater.client.compute import ComputeClient
    from headwater.client.datacache import DataCache
    from headwater.client.endpoints import EndpointsClient
    from headwater.client.env import EnvClient
    from headwater.client.experiments import ExperimentsClient
    from headwater.client.flows import FlowsClient
    from headwater.client.keys import KeysClient
    from headwater.client.live import LiveClient
    from headwater.client.members import MembersClient
    from headwater.client.projects import ProjectsClient
    from headwater.client.scope import ProjectScope
    from headwater.client.secrets import SecretsClient
    from headwater.client.settings import SettingsClient
    from headwater.client.tensorboards import TensorBoardsClient
    from headwater.client.users import UsersClient
    from headwater.client.webhooks import WebhooksClient
    from headwater.client.workspaces import WorkspacesClient
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

    # Built on first use: each one imports its schemas, and a command needs one or two
    # (`hw whoami` and `hw user list` never load the project schemas).
    @cached_property
    def projects(self) -> ProjectsClient:
        from headwater.client.projects import ProjectsClient

        return ProjectsClient(self.http)

    @cached_property
    def scope(self) -> ProjectScope:
        """The project calls act on (the configured one, or the caller's Personal project)."""
        from headwater.client.scope import ProjectScope

        return ProjectScope(
            self.projects, self.auth, self.config.project, self.config.project_source
        )

    @cached_property
    def users(self) -> UsersClient:
        from headwater.client.users import UsersClient

        return UsersClient(self.http)

    @cached_property
    def members(self) -> MembersClient:
        from headwater.client.members import MembersClient

        return MembersClient(self.http, self.scope)

    @cached_property
    def env(self) -> EnvClient:
        from headwater.client.env import EnvClient

        return EnvClient(self.http, self.scope)

    @cached_property
    def settings(self) -> SettingsClient:
        from headwater.client.settings import SettingsClient

        return SettingsClient(self.http, self.scope)

    @cached_property
    def secrets(self) -> SecretsClient:
        from headwater.client.secrets import SecretsClient

        return SecretsClient(self.http, self.scope)

    @cached_property
    def keys(self) -> KeysClient:
        from headwater.client.keys import KeysClient

        return KeysClient(self.http, self.scope)

    @cached_property
    def webhooks(self) -> WebhooksClient:
        from headwater.client.webhooks import WebhooksClient

        return WebhooksClient(self.http, self.scope)

    @cached_property
    def files(self) -> FilesClient:
        from headwater.client.collections import FilesClient

        return FilesClient(self.http, self.scope)

    @cached_property
    def datasets(self) -> DatasetsClient:
        from headwater.client.collections import DatasetsClient

        return DatasetsClient(self.http, self.scope)

    @cached_property
    def models(self) -> ModelsClient:
        from headwater.client.collections import ModelsClient

        return ModelsClient(self.http, self.scope)

    @cached_property
    def experiments(self) -> ExperimentsClient:
        from headwater.client.experiments import ExperimentsClient

        return ExperimentsClient(self.http, self.scope)

    @cached_property
    def flows(self) -> FlowsClient:
        from headwater.client.flows import FlowsClient

        return FlowsClient(self.http, self.scope)

    @cached_property
    def endpoints(self) -> EndpointsClient:
        from headwater.client.endpoints import EndpointsClient

        return EndpointsClient(self.http, self.scope)

    @cached_property
    def workspaces(self) -> WorkspacesClient:
        from headwater.client.workspaces import WorkspacesClient

        return WorkspacesClient(self.http, self.scope)

    @cached_property
    def tensorboards(self) -> TensorBoardsClient:
        from headwater.client.tensorboards import TensorBoardsClient

        return TensorBoardsClient(self.http, self.scope)

    @cached_property
    def live(self) -> LiveClient:
        from headwater.client.live import LiveClient

        return LiveClient(self.experiments)

    @cached_property
    def admin(self) -> AdminClient:
        from headwater.client.admin import AdminClient

        return AdminClient(self.http)

    @cached_property
    def compute(self) -> ComputeClient:
        from headwater.client.compute import ComputeClient

        return ComputeClient(self.http)

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
        from headwater.client.datacache import DataCache

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

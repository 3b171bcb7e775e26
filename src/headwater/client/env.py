"""A project's environment variables, which every new job in it receives."""

from __future__ import annotations

from collections.abc import Mapping

from headwater.client.http import payload
from headwater.client.scope import ProjectScoped
from headwater.schemas.settings import EnvSet

EnvVars = dict[str, str]


class EnvClient(ProjectScoped):
    resource = "env"

    def list(self, *, project: str | None = None) -> EnvVars:
        return self._http.call("GET", self._path(project), EnvVars)

    def set(self, env: Mapping[str, str], *, project: str | None = None) -> EnvVars:
        """Set the given variables, keep the others; returns them all. Entries are used as
        written, so the server refuses names or values with spaces around them."""
        body = payload(EnvSet, env=dict(env))
        return self._http.call("PATCH", self._path(project), EnvVars, json=body)

    def unset(self, key: str, *, project: str | None = None) -> None:
        self._http.request("DELETE", self._path(project, key))

"""A project's settings: the defaults new jobs start from (image, compute, output folder...)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from headwater.client.scope import ProjectScoped
from headwater.schemas.settings import ProjectSettings


class SettingsClient(ProjectScoped):
    resource = "settings"

    def get(self, *, project: str | None = None) -> ProjectSettings:
        return self._http.call("GET", self._path(project), ProjectSettings)

    def update(self, changes: Mapping[str, Any], *, project: str | None = None) -> ProjectSettings:
        """Change top-level fields; the server validates the merged result as a whole."""
        return self._http.call("PATCH", self._path(project), ProjectSettings, json=dict(changes))

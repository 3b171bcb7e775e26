"""A project's third-party keys (aws, gcp, git...): one per type; the secret never comes back."""

from __future__ import annotations

from headwater.client.http import payload
from headwater.client.scope import ProjectScoped
from headwater.schemas.settings import KeyOut, KeySet

KeyList = list[KeyOut]


class KeysClient(ProjectScoped):
    resource = "keys"

    def list(self, *, project: str | None = None) -> KeyList:
        return self._http.call("GET", self._path(project), KeyList)

    def set(self, key_type: str, key_id: str, secret: str, *, project: str | None = None) -> KeyOut:
        body = payload(KeySet, key_id=key_id, secret=secret)
        return self._http.call("PUT", self._path(project, key_type), KeyOut, json=body)

    def delete(self, key_type: str, *, project: str | None = None) -> None:
        self._http.request("DELETE", self._path(project, key_type))

"""A project's secrets: values go in and reach jobs, but never come back out of the API."""

from __future__ import annotations

from headwater.client.http import payload
from headwater.client.scope import ProjectScoped
from headwater.schemas.settings import SecretOut, SecretSet

SecretList = list[SecretOut]


class SecretsClient(ProjectScoped):
    resource = "secrets"

    def list(self, *, project: str | None = None) -> SecretList:
        """The keys and when they changed; values are never listed."""
        return self._http.call("GET", self._path(project), SecretList)

    def set(
        self,
        key: str,
        value: str,
        *,
        owner_only: bool | None = None,
        project: str | None = None,
    ) -> SecretOut:
        """``owner_only``: only tasks the project's owner or an admin started receive it;
        None keeps an existing secret's setting."""
        fields: dict[str, object] = {"value": value}
        if owner_only is not None:
            fields["owner_only"] = owner_only
        body = payload(SecretSet, **fields)
        return self._http.call("PUT", self._path(project, key), SecretOut, json=body)

    def delete(self, key: str, *, project: str | None = None) -> None:
        self._http.request("DELETE", self._path(project, key))

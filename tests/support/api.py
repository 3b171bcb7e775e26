"""A Headwater server for one test, and clients bound to one user's token."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from headwater.server import create_app
from headwater.settings import ServerSettings

API = "/api/v1"
ERROR_KEYS = {"error", "detail", "where", "hint"}
_serial = itertools.count(1)


def unique(prefix: str) -> str:
    """A name no other call in this test process returns."""
    return f"{prefix}{next(_serial)}"


@dataclass
class Api:
    """Calls ``/api/v1`` as one user (or as nobody when ``token`` is None)."""

    http: TestClient
    token: str | None
    user: dict[str, Any] = field(default_factory=dict)
    raise_server_exceptions: bool = True

    @property
    def username(self) -> str:
        return str(self.user["username"])

    @property
    def email(self) -> str:
        return str(self.user["email"])

    @property
    def personal_project_id(self) -> str:
        return str(self.user["personal_project_id"])

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if self.token is not None:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        outside_api = path == "/" or path.startswith(
            ("/api/", "/healthz", "/metrics", "/docs", "/redoc")
        )
        url = path if outside_api else API + path
        response: httpx.Response = self.http.request(method, url, headers=headers, **kwargs)
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    # -- shortcuts that must succeed -------------------------------------------------------------

    def create_project(self, name: str | None = None, **fields: Any) -> dict[str, Any]:
        response = self.post("/projects", json={"name": name or unique("project-"), **fields})
        assert response.status_code == 201, response.text
        project: dict[str, Any] = response.json()
        return project

    def add_member(self, project_id: str, member: Api, **access: Any) -> dict[str, Any]:
        response = self.post(
            f"/projects/{project_id}/members", json={"email": member.email, **access}
        )
        assert response.status_code == 201, response.text
        out: dict[str, Any] = response.json()
        return out

    def activity(self, project_id: str) -> list[dict[str, Any]]:
        response = self.get(f"/projects/{project_id}/activity")
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()
        return items


def assert_error(
    response: httpx.Response, status: int, *, where: str | None = None, detail: str | None = None
) -> dict[str, Any]:
    """A clean user error: the status, and the JSON body ``{error, detail, where, hint}``."""
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body: dict[str, Any] = response.json()
    assert set(body) == ERROR_KEYS, body
    assert isinstance(body["detail"], str), body
    assert body["detail"], body
    if where is not None:
        assert body["where"] == where, body
    if detail is not None:
        assert detail in body["detail"], body
    return body


class Server:
    """One Headwater app on its own home and database, with the admin's client."""

    def __init__(self, home: Path, database_url: str | None, **overrides: Any) -> None:
        self.home = home
        self.database_url = database_url
        self.overrides = overrides  # other ServerSettings fields, e.g. session_hours
        self.app = self._start()
        self._apis: list[Api] = []
        self.admin = self.client(self.admin_token())
        self.admin.user = self.admin.get("/auth/me").json()

    @property
    def settings(self) -> ServerSettings:
        # In process, tasks could not reach this app: the engine stays off (experiments wait
        # queued); tests/integration/test_experiments.py runs the engine in a real server.
        options = {"engine": False, **self.overrides}
        return ServerSettings(home=self.home, database_url=self.database_url, **options)

    @property
    def db_kind(self) -> str:
        return "sqlite" if self.database_url is None else "postgres"

    def _start(self) -> FastAPI:
        return create_app(self.settings)

    def admin_token(self) -> str:
        return (self.home / "admin.token").read_text().strip()

    def client(self, token: str | None = None, *, raise_server_exceptions: bool = True) -> Api:
        """A client of its own (its own cookie jar), sending ``token`` when given."""
        http = TestClient(self.app, raise_server_exceptions=raise_server_exceptions)
        api = Api(http=http, token=token, raise_server_exceptions=raise_server_exceptions)
        self._apis.append(api)
        return api

    def create_user(
        self, username: str | None = None, *, admin: bool = False, password: str | None = None
    ) -> Api:
        username = username or unique("user")
        body: dict[str, Any] = {
            "username": username,
            "email": f"{username}@example.org",
            "admin": admin,
        }
        if password is not None:
            body["password"] = password
        response = self.admin.post("/users", json=body)
        assert response.status_code == 201, response.text
        created = response.json()
        api = self.client(created["token"])
        api.user = created["user"]
        return api

    def restart(self) -> None:
        """Stop this app and start a new one on the same home and database; clients follow."""
        self.close()
        self.app = self._start()
        for api in self._apis:
            api.http = TestClient(self.app, raise_server_exceptions=api.raise_server_exceptions)

    def close(self) -> None:
        for api in self._apis:
            api.http.close()
        gateway = getattr(self.app.state, "gateway", None)
        if gateway is not None:  # its writer thread, before the database goes
            gateway.close()
        platform = getattr(self.app.state, "platform", None)
        if platform is not None:
            platform.close()

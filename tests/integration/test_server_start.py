"""First start, restart, and the files the server keeps in its home."""

from __future__ import annotations

import stat
from pathlib import Path

from fastapi.testclient import TestClient

from headwater.server import create_app
from headwater.settings import ServerSettings
from tests.support.api import Server


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_start_creates_admin_and_a_private_token_file(server: Server) -> None:
    token_file = server.home / "admin.token"
    assert token_file.is_file()
    assert mode(token_file) == 0o600
    token = token_file.read_text().strip()
    assert token.startswith("hw_")
    me = server.admin.get("/auth/me")
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "admin"
    assert me.json()["is_admin"] is True
    assert me.json()["personal_project_id"]
    users = server.admin.get("/users").json()
    assert [u["username"] for u in users] == ["admin"]


def test_generated_secret_key_is_private(server: Server) -> None:
    key_file = server.home / "secret.key"
    assert key_file.is_file()
    assert mode(key_file) == 0o600
    assert not list(server.home.glob("*.tmp"))


def test_restart_keeps_data_and_does_not_recreate_admin(server: Server) -> None:
    token_file = server.home / "admin.token"
    token_before = token_file.read_text()
    mtime_before = token_file.stat().st_mtime_ns
    key_before = (server.home / "secret.key").read_text()
    alice = server.create_user("alice")
    project = alice.create_project("kept", description="survives a restart")
    assert alice.put(f"/projects/{project['id']}/secrets/TOKEN", json={"value": "v"}).is_success

    server.restart()

    assert token_file.read_text() == token_before
    assert token_file.stat().st_mtime_ns == mtime_before
    assert (server.home / "secret.key").read_text() == key_before
    assert server.admin.get("/auth/me").status_code == 200
    users = sorted(u["username"] for u in server.admin.get("/users").json())
    assert users == ["admin", "alice"]
    shown = alice.get(f"/projects/{project['id']}")
    assert shown.status_code == 200, shown.text
    assert shown.json()["description"] == "survives a restart"
    assert [s["key"] for s in alice.get(f"/projects/{project['id']}/secrets").json()] == ["TOKEN"]
    kinds = [a["kind"] for a in alice.activity(project["id"])]
    assert "project_created" in kinds


def test_app_lifespan_runs_and_closes(home: Path, database_url: str | None) -> None:
    app = create_app(ServerSettings(home=home, database_url=database_url))
    with TestClient(app) as client:
        health = client.get("/healthz")
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
    # A second app on the same home, started as `hw server` would after a stop.
    again = create_app(ServerSettings(home=home, database_url=database_url))
    with TestClient(again) as client:
        token = (home / "admin.token").read_text().strip()
        me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200, me.text


def test_metrics_count_requests_by_route_template(server: Server) -> None:
    project = server.admin.create_project()
    assert server.admin.get(f"/projects/{project['id']}").status_code == 200
    text = server.admin.get("/metrics").text
    assert "headwater_http_requests_total" in text
    assert 'route="/api/v1/projects/{project_id}"' in text
    assert project["id"] not in text


def test_openapi_document_has_stable_unique_operation_ids(server: Server) -> None:
    doc = server.admin.get("/api/v1/openapi.json").json()
    ids = [op["operationId"] for path in doc["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    assert "create_project" in ids
    assert all("_api_v1_" not in i for i in ids), ids

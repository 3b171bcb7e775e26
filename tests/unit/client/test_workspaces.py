"""``WorkspacesClient`` against a fake server (httpx's MockTransport): names resolved to ids,
the start body, waiting until running (or why not), and a refused save in a workspace's words."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

import headwater.client.workspaces as workspaces
from headwater.client.http import HttpClient
from headwater.client.workspaces import WorkspacesClient, pick, save_conflict
from headwater.domain.errors import Conflict, HeadwaterError, NotFound
from headwater.domain.trees import MergeConflict
from headwater.schemas.workspaces import WorkspaceOut

Handler = Callable[[httpx.Request], httpx.Response]
T0 = datetime(2026, 12, 7, 5, 0, tzinfo=UTC)


def client(handler: Handler) -> WorkspacesClient:
    http = HttpClient("http://hw.test", "user-token", transport=httpx.MockTransport(handler))
    scope = SimpleNamespace(id=lambda project=None: project or "p1")
    return WorkspacesClient(http, scope)  # type: ignore[arg-type]


def workspace(id: str, name: str, state: str = "running", **extra: Any) -> dict[str, Any]:
    return {
        "id": id,
        "project_id": "p1",
        "name": name,
        "state": state,
        "experiment_id": f"e-{id}",
        "experiment_number": 7,
        "url": f"/workspaces/{id}/lab",
        "created_by": "u1",
        "created_at": T0.isoformat(),
        "ready_at": None,
        "last_activity": T0.isoformat(),
        "culls_at": None,
        "idle_seconds": 3600,
        "max_age_seconds": 604800,
        "base_commit": None,
        "saved_commit": None,
        "saved_at": None,
        "ended_at": None,
        "reason": None,
        **extra,
    }


def out(data: dict[str, Any]) -> WorkspaceOut:
    return WorkspaceOut.model_validate(data)


def test_a_name_means_the_active_workspace_of_that_name_else_the_newest_else_an_id() -> None:
    listed = [
        out(workspace("w3", "lab", "stopped")),  # newest first, as the server lists them
        out(workspace("w2", "lab", "running")),
        out(workspace("w1", "old", "stopped")),
        out(workspace("w0", "old", "failed")),
    ]
    assert pick(listed, "lab").id == "w2"
    assert pick(listed, "old").id == "w1"
    assert pick(listed, "w0").id == "w0"
    with pytest.raises(NotFound) as missing:
        pick(listed, "nope")
    assert "lab" in (missing.value.hint or "")
    with pytest.raises(NotFound) as none:
        pick([], "lab")
    assert "hw workspace start" in (none.value.hint or "")


def test_save_and_stop_send_the_id_the_name_resolves_to_with_their_bodies() -> None:
    seen: list[tuple[str, str, Any]] = []
    running = workspace("w2", "lab")

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen.append((request.method, request.url.path, body))
        if request.method == "GET":
            return httpx.Response(200, json=[running])
        saved = {"commit": "c1", "merged": False, "unchanged": False, "workspace": running}
        return httpx.Response(200, json=saved)

    hw = client(handler)
    assert hw.save("lab", "first").commit == "c1"
    hw.stop("lab", discard=True, message="bye")
    posts = [s for s in seen if s[0] == "POST"]
    assert posts == [
        ("POST", "/api/v1/projects/p1/workspaces/w2/save", {"message": "first"}),
        ("POST", "/api/v1/projects/p1/workspaces/w2/stop", {"discard": True, "message": "bye"}),
    ]


def test_start_sends_the_version_as_the_commit_and_the_datasets() -> None:
    seen: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(201, json=workspace("w9", "nb", "starting"))

    started = client(handler).start(
        "nb", compute="small", datasets=["images", "text@abc"], version="abcd1234"
    )
    assert started.state.value == "starting"
    assert seen[0]["commit"] == "abcd1234"
    assert seen[0]["datasets"] == ["images", "text@abc"]
    assert seen[0]["compute"] == "small"
    assert client(handler).url(started) == "http://hw.test/workspaces/w9/lab"


def test_wait_returns_once_running_and_says_why_when_it_ended_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(workspaces.time, "sleep", lambda _: None)
    states = iter(["starting", "starting", "running"])

    def booting(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/workspaces"):
            return httpx.Response(200, json=[workspace("w1", "lab", "starting")])
        return httpx.Response(200, json=workspace("w1", "lab", next(states)))

    assert client(booting).wait("lab").state.value == "running"

    def failing(request: httpx.Request) -> httpx.Response:
        failed = workspace("w1", "lab", "failed", reason="jupyter exited with 1")
        return httpx.Response(200, json=[failed] if request.url.path.endswith("s") else failed)

    with pytest.raises(HeadwaterError) as ended:
        client(failing).wait("lab")
    assert "jupyter exited with 1" in ended.value.detail
    assert "hw experiments logs 7" in (ended.value.hint or "")


def test_a_conflicting_save_names_the_files_and_says_what_to_do_in_a_workspace() -> None:
    server_said = MergeConflict(["README.md", "train.py"])
    reworded = save_conflict(server_said, "lab")
    assert isinstance(reworded, Conflict)
    assert "README.md, train.py" in reworded.detail
    assert "nothing was committed" in reworded.detail
    assert reworded.where == "workspace lab"
    assert "hw workspace save lab" in (reworded.hint or "")
    assert "--discard" in (reworded.hint or "")
    assert "hw sync" not in (reworded.hint or "")
    other = Conflict("workspace lab is starting", where="workspace", hint="Wait.")
    assert save_conflict(other, "lab") is other


def test_a_conflict_from_the_server_comes_back_reworded_from_save() -> None:
    running = workspace("w2", "lab")
    conflict = MergeConflict(["README.md"]).to_dict()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json=[running])
        return httpx.Response(409, json=conflict)

    with pytest.raises(Conflict) as refused:
        client(handler).save("lab", "mine")
    assert refused.value.where == "workspace lab"
    assert "README.md" in refused.value.detail

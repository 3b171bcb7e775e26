"""Workspaces with a real JupyterLab (issue 15), against a real ``hw server`` whose local worker
runs tasks in the sandbox: started as a job, opened only through the server's proxy (session
cookie or bearer token; no login, a non-member, a read-only member and a removed member are
refused), a cell executed over the kernel WebSocket through the proxy, a file written through
the contents API and saved back as a version of the project's files, culled when idle (but not
while a kernel is busy), one started on the project's linked Git repository at a branch or a
commit holding that branch's or commit's files, and a workspace killed with ``kill -9``
failing with nothing committed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from headwater.db.cipher import SecretBox
from headwater.db.database import Database, sqlite_url
from headwater.db.repos.workspaces import WorkspaceRepo
from tests.integration.test_git import make_origin
from tests.support.liveserver import RunningServer, running_server
from tests.support.waiting import wait_until

pytest.importorskip("jupyterlab")

WAIT = 120.0  # a workspace is a task: a queue, a sandbox, JupyterLab to start
PASSWORD = "workspace-password-1"


@dataclass
class Site:
    server: RunningServer
    http: httpx.Client
    project: str
    head: str | None = None

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.server.admin_token}"}

    def api(
        self, method: str, path: str, *, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else self.admin
        return self.http.request(
            method, f"/api/v1/projects/{self.project}{path}", headers=headers, **kwargs
        )

    def sync(self, files: dict[str, str], repo: str = "files") -> str:
        """Commit ``files`` to the project's files (or ``datasets/NAME``), as `hw sync` does."""
        entries = []
        for path, text in files.items():
            blob = text.encode()
            digest = hashlib.sha256(blob).hexdigest()
            put = self.api("PUT", f"/{repo}/objects/{digest}", content=blob)
            assert put.status_code in (200, 201), put.text
            entries.append({"path": path, "hash": digest, "size": len(blob)})
        base = self.head if repo == "files" else None
        made = self.api("POST", f"/{repo}/commits", json={"entries": entries, "base": base})
        assert made.status_code == 201, made.text
        if repo == "files":
            self.head = str(made.json()["id"])
        return str(made.json()["id"])

    def user(self, files: str | None, jobs: str | None) -> tuple[str, str]:
        """A new user (a member with this access, unless None): (username, API token)."""
        name = f"u{uuid.uuid4().hex[:8]}"
        body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
        made = self.http.post("/api/v1/users", json=body, headers=self.admin)
        assert made.status_code == 201, made.text
        if files is not None:
            grant = {"email": body["email"], "files": files, "jobs": jobs}
            added = self.api("POST", "/members", json=grant)
            assert added.status_code == 201, added.text
        return name, str(made.json()["token"])

    def start(self, **body: Any) -> dict[str, Any]:
        body.setdefault("compute", "tiny")
        made = self.api("POST", "/workspaces", json=body)
        assert made.status_code == 201, made.text
        started: dict[str, Any] = made.json()
        return started

    def show(self, workspace_id: str) -> dict[str, Any]:
        shown = self.api("GET", f"/workspaces/{workspace_id}")
        assert shown.status_code == 200, shown.text
        answer: dict[str, Any] = shown.json()
        return answer

    def state_is(self, workspace_id: str, *states: str, timeout: float = WAIT) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            shown = self.show(workspace_id)
            return shown if shown["state"] in states else None

        return wait_until(done, timeout=timeout, message=lambda: self.explain(workspace_id))

    def explain(self, workspace_id: str) -> str:
        shown = self.show(workspace_id)
        logs = self.api("GET", f"/experiments/{shown['experiment_id']}/logs").text
        server = self.server.log_text()[-3000:]
        return f"{shown}\n--- task ---\n{logs[-4000:]}\n--- server ---\n{server}"

    def lab(self, workspace: dict[str, Any], path: str, **kwargs: Any) -> httpx.Response:
        """A request through the proxy, as the admin (bearer token) unless headers say."""
        kwargs.setdefault("headers", self.admin)
        return self.http.request(
            kwargs.pop("method", "GET"), f"/workspaces/{workspace['id']}/{path}", **kwargs
        )

    def versions(self) -> list[dict[str, Any]]:
        listed = self.api("GET", "/files/commits")
        assert listed.status_code == 200, listed.text
        found: list[dict[str, Any]] = listed.json()
        return found

    def file_at(self, commit: str, path: str) -> str | None:
        tree = self.api("GET", "/files/tree", params={"commit": commit}).json()
        for entry in tree["entries"]:
            if entry["path"] == path:
                blob = self.api("GET", f"/files/objects/{entry['hash']}")
                return blob.text
        return None


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    # a short home: the workspace's socket path must fit a Unix socket's 108 bytes
    tmp = Path(f"/tmp/hw-ws-{uuid.uuid4().hex[:6]}")
    tmp.mkdir()
    try:
        yield from _site(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _site(tmp: Path) -> Iterator[Site]:
    with (
        running_server(
            tmp / "home",
            tmp / "server.log",
            "--log-level",
            "warning",
            HEADWATER_WORKSPACE_CHECK_SECONDS="0.3",
        ) as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        admin = {"Authorization": f"Bearer {server.admin_token}"}
        made = http.post("/api/v1/projects", json={"name": "notebooks"}, headers=admin)
        assert made.status_code == 201, made.text
        built = Site(server, http, made.json()["id"])
        # workspaces take their compute's share of the machine, like any task: small ones here
        tiny = {"name": "tiny", "cpus": 0.1, "memory_mb": 64}
        assert http.post("/api/v1/compute", json=tiny, headers=admin).status_code == 201
        built.sync({"README.md": "# notebooks\n"})
        assert built.api("POST", "/datasets", json={"name": "images"}).status_code == 201
        built.sync({"labels.csv": "cat,1\n"}, repo="datasets/images")
        yield built


@pytest.fixture(scope="module")
def lab(site: Site) -> dict[str, Any]:
    """One workspace, running (long idle settings: the culler leaves it alone)."""
    started = site.start(name="main", idle_seconds=3600, datasets=["images"])
    assert started["state"] == "starting"
    assert started["url"] == f"/workspaces/{started['id']}/lab"
    return site.state_is(started["id"], "running")


def test_a_workspace_opens_through_the_proxy_with_a_session_cookie_or_a_bearer_token(
    site: Site, lab: dict[str, Any]
) -> None:
    shown = site.lab(lab, "lab")
    assert shown.status_code == 200, shown.text[:500]
    assert "JupyterLab" in shown.text
    task = site.api("GET", f"/experiments/{lab['experiment_id']}").json()
    assert task["title"] == "workspace:main"
    # the project's files at the version it started from, its dataset under data/
    assert lab["base_commit"] == site.head
    readme = site.lab(lab, "api/contents/README.md").json()
    assert readme["content"] == "# notebooks\n"
    labels = site.lab(lab, "api/contents/data/images/labels.csv")
    assert labels.status_code == 200, labels.text
    assert labels.json()["content"] == "cat,1\n"
    name, _ = site.user("all", "all")
    with httpx.Client(base_url=site.server.url) as browser:
        login = browser.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
        assert login.status_code == 200, login.text
        assert browser.cookies.get("hw_session")
        page = browser.get(f"/workspaces/{lab['id']}/lab")
        assert page.status_code == 200, page.text[:500]
        api = browser.get(f"/workspaces/{lab['id']}/api/status")
        assert api.status_code == 200, api.text
    # the workspace's own token never reaches the browser: not in a page, a header or a cookie
    token = jupyter_token(site, lab)
    for answer in (shown, page, api):
        assert token not in answer.text
        assert all(token not in value for value in answer.headers.values())
    # JupyterLab itself refuses a request without it (the proxy adds it)
    direct = _address_of(site, lab).removeprefix("unix:")
    with httpx.Client(transport=httpx.HTTPTransport(uds=direct)) as bare:
        assert bare.get(f"http://x/workspaces/{lab['id']}/api/kernels").status_code == 403


def jupyter_token(site: Site, workspace: dict[str, Any]) -> str:
    """The token the server generated for the workspace (sealed in its database)."""
    home = site.server.home
    box = SecretBox((home / "secret.key").read_text().strip())
    db = Database(sqlite_url(home))
    try:
        with db.read() as session:
            return box.open(WorkspaceRepo(session).sealed_token(workspace["id"]))
    finally:
        db.dispose()


def test_without_a_login_a_browser_is_sent_to_the_login_and_an_api_call_gets_401(
    site: Site, lab: dict[str, Any]
) -> None:
    page = site.http.get(f"/workspaces/{lab['id']}/lab", headers={"Accept": "text/html"})
    assert page.status_code == 302
    assert page.headers["location"].startswith("/login?next=/workspaces/")
    api = site.http.get(f"/workspaces/{lab['id']}/api/kernels")
    assert api.status_code == 401
    assert api.json()["error"] == "unauthenticated"
    forged = site.http.get(
        f"/workspaces/{lab['id']}/api/kernels", headers={"Authorization": "token nope"}
    )
    assert forged.status_code == 401


def test_a_non_member_a_read_only_member_and_a_files_only_member_are_refused(
    site: Site, lab: dict[str, Any]
) -> None:
    _, outsider = site.user(None, None)
    _, reader = site.user("read", "read")
    _, files_only = site.user("all", "read")
    denied = {"Authorization": f"Bearer {outsider}"}
    # a private project's non-member learns nothing, as from every API route (404);
    # a public project's is refused (403): seeing a project is not editing its files
    assert site.lab(lab, "lab", headers=denied).status_code == 404
    project = f"/api/v1/projects/{site.project}"
    assert site.http.patch(project, json={"public": True}, headers=site.admin).is_success
    try:
        refused = site.lab(lab, "lab", headers=denied)
        assert refused.status_code == 403, refused.text
    finally:
        assert site.http.patch(project, json={"public": False}, headers=site.admin).is_success
    for token in (reader, files_only):
        refused = site.lab(lab, "lab", headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 403, refused.text
        assert "files" in refused.json()["detail"]
    # starting one needs the same access
    assert site.api("POST", "/workspaces", token=reader, json={"name": "x"}).status_code == 403
    assert site.api("GET", "/workspaces", token=reader).status_code == 200


def test_a_removed_member_loses_access_at_the_next_request(site: Site, lab: dict[str, Any]) -> None:
    name, token = site.user("all", "all")
    member = {"Authorization": f"Bearer {token}"}
    assert site.lab(lab, "api/status", headers=member).status_code == 200
    removed = site.api("DELETE", f"/members/{name}@example.com")
    assert removed.status_code == 204, removed.text
    assert site.lab(lab, "api/status", headers=member).status_code == 404


def _ws_url(site: Site, path: str) -> str:
    return site.server.url.replace("http://", "ws://") + path


def execute(site: Site, lab: dict[str, Any], kernel: str, code: str, *, wait: bool = True) -> str:
    """Run ``code`` in the kernel over its WebSocket, through the proxy; its stdout."""
    url = _ws_url(site, f"/workspaces/{lab['id']}/api/kernels/{kernel}/channels")
    msg_id = uuid.uuid4().hex
    message = {
        "header": {
            "msg_id": msg_id,
            "username": "test",
            "session": uuid.uuid4().hex,
            "msg_type": "execute_request",
            "version": "5.3",
            "date": "2026-12-07T00:00:00Z",
        },
        "parent_header": {},
        "metadata": {},
        "content": {
            "code": code,
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        },
        "channel": "shell",
        "buffers": [],
    }
    out: list[str] = []
    with connect(url, additional_headers=site.admin, open_timeout=30) as ws:
        ws.send(json.dumps(message))
        if not wait:
            return ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            reply = json.loads(ws.recv(timeout=60))
            if reply.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if reply["msg_type"] == "stream":
                out.append(reply["content"]["text"])
            if reply["msg_type"] == "status" and reply["content"]["execution_state"] == "idle":
                return "".join(out)
    raise AssertionError(f"no idle status for {code!r}; got {out}")


def new_kernel(site: Site, lab: dict[str, Any]) -> str:
    made = site.lab(lab, "api/kernels", method="POST", json={"name": "python3"})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def test_a_cell_runs_over_the_kernel_websocket_through_the_proxy(
    site: Site, lab: dict[str, Any]
) -> None:
    kernel = new_kernel(site, lab)
    assert execute(site, lab, kernel, "print(6 * 7)") == "42\n"
    channels = _ws_url(site, f"/workspaces/{lab['id']}/api/kernels/{kernel}/channels")
    # the websocket is checked like a request: no login, no socket
    with pytest.raises(InvalidStatus) as refused:
        connect(channels)
    assert refused.value.response.status_code == 403
    # a session cookie from another origin (another port of this host is the same site):
    # refused; from the server's own pages: let through
    name, _ = site.user("all", "all")
    with httpx.Client(base_url=site.server.url) as browser:
        login = browser.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
        assert login.status_code == 200, login.text
        cookie = {"Cookie": f"hw_session={browser.cookies['hw_session']}"}
    with pytest.raises(InvalidStatus):
        connect(channels, additional_headers=cookie, origin=Origin("http://127.0.0.1:1"))
    own = Origin(site.server.url)
    with connect(channels, additional_headers=cookie, origin=own, open_timeout=30) as ws:
        ws.ping().wait(timeout=30)


def test_a_file_written_through_the_contents_api_is_saved_as_a_new_version(
    site: Site, lab: dict[str, Any]
) -> None:
    notebook = {
        "type": "notebook",
        "content": {
            "cells": [
                {
                    "cell_type": "code",
                    "source": "print(1)",
                    "metadata": {},
                    "outputs": [],
                    "execution_count": None,
                }
            ],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        },
    }
    wrote = site.lab(lab, "api/contents/analysis.ipynb", method="PUT", json=notebook)
    assert wrote.status_code in (200, 201), wrote.text
    before = [v["id"] for v in site.versions()]
    saved = site.api("POST", f"/workspaces/{lab['id']}/save", json={"message": "from lab"})
    assert saved.status_code == 200, saved.text
    commit = saved.json()["commit"]
    assert commit not in before
    assert not saved.json()["unchanged"]
    assert site.versions()[0]["id"] == commit
    assert site.versions()[0]["message"] == "from lab"
    text = site.file_at(commit, "analysis.ipynb")
    assert text is not None
    assert "print(1)" in text
    assert site.file_at(commit, "README.md") == "# notebooks\n"
    # nothing the runtime or Jupyter put in the folder is saved as the project's files
    tree = site.api("GET", "/files/tree", params={"commit": commit}).json()
    paths = {e["path"] for e in tree["entries"]}
    assert paths == {"README.md", "analysis.ipynb"}, paths
    # saving again with no change makes no version
    again = site.api("POST", f"/workspaces/{lab['id']}/save", json={"message": "same"})
    assert again.status_code == 200, again.text
    assert again.json()["unchanged"]


def test_a_save_reads_the_workspaces_own_folder_whatever_its_task_reports(
    site: Site, lab: dict[str, Any], tmp_path: Path
) -> None:
    """A workspace's code holds its task token, and a task may report its own ``runner``: one
    that names another folder (another task's, say) as its workdir must not get that folder's
    files saved into this project."""
    decoy = tmp_path / "elsewhere"
    decoy.mkdir()
    (decoy / "stolen.txt").write_text("another task's file\n")
    kernel = new_kernel(site, lab)
    code = (
        "import os, httpx\n"
        "url = f\"{os.environ['HEADWATER_URL']}/api/v1/projects/"
        "{os.environ['HEADWATER_PROJECT']}/experiments/{os.environ['HW_EXPERIMENT_ID']}/state\"\n"
        "r = httpx.post(url, headers={'Authorization': 'Bearer ' + os.environ['HEADWATER_TOKEN']},"
        f" json={{'state': 'running', 'runner': {{'workdir': {str(decoy)!r}}}}})\n"
        "print(r.status_code)\n"
    )
    assert execute(site, lab, kernel, code).strip() == "200"  # the report itself is allowed
    saved = site.api("POST", f"/workspaces/{lab['id']}/save", json={"message": "mine"})
    assert saved.status_code == 200, saved.text
    if not saved.json()["unchanged"]:
        commit = saved.json()["commit"]
        assert site.file_at(commit, "stolen.txt") is None


def test_a_save_merges_what_others_synced_meanwhile_and_refuses_a_conflict(
    site: Site, lab: dict[str, Any]
) -> None:
    wrote = site.lab(
        lab,
        "api/contents/mine.txt",
        method="PUT",
        json={"type": "file", "format": "text", "content": "lab\n"},
    )
    assert wrote.status_code in (200, 201), wrote.text
    site.head = site.versions()[0]["id"]
    site.sync(
        {
            "README.md": "# notebooks\n",
            "analysis.ipynb": site.file_at(site.head, "analysis.ipynb") or "",
            "theirs.txt": "synced\n",
        }
    )
    saved = site.api("POST", f"/workspaces/{lab['id']}/save", json={"message": "merge"})
    assert saved.status_code == 200, saved.text
    assert saved.json()["merged"]
    commit = saved.json()["commit"]
    assert site.file_at(commit, "theirs.txt") == "synced\n"
    assert site.file_at(commit, "mine.txt") == "lab\n"
    # their file came into the workspace, as a sync brings it in
    seen = site.lab(lab, "api/contents/theirs.txt")
    assert seen.status_code == 200, seen.text
    assert seen.json()["content"] == "synced\n"
    # both sides change README.md: refused, nothing committed, the workspace still runs
    site.head = commit
    site.sync(
        {
            "README.md": "server side\n",
            "analysis.ipynb": site.file_at(commit, "analysis.ipynb") or "",
            "theirs.txt": "synced\n",
            "mine.txt": "lab\n",
        }
    )
    head = site.versions()[0]["id"]
    site.lab(
        lab,
        "api/contents/README.md",
        method="PUT",
        json={"type": "file", "format": "text", "content": "lab side\n"},
    )
    refused = site.api("POST", f"/workspaces/{lab['id']}/stop", json={})
    assert refused.status_code == 409, refused.text
    assert "README.md" in refused.json()["detail"]
    assert site.versions()[0]["id"] == head
    assert site.show(lab["id"])["state"] == "running"
    # put it back as the server has it, for the tests after this one
    site.lab(
        lab,
        "api/contents/README.md",
        method="PUT",
        json={"type": "file", "format": "text", "content": "server side\n"},
    )


def test_the_culler_keeps_a_workspace_with_a_busy_kernel_and_culls_an_idle_one(
    site: Site,
) -> None:
    busy = site.state_is(site.start(name="busy", idle_seconds=4)["id"], "running")
    kernel = new_kernel(site, busy)
    execute(site, busy, kernel, "import time; time.sleep(600)", wait=False)
    idle = site.state_is(site.start(name="idle", idle_seconds=4)["id"], "running")
    site.lab(
        idle,
        "api/contents/note.txt",
        method="PUT",
        json={"type": "file", "format": "text", "content": "idle\n"},
    )
    culled = site.state_is(idle["id"], "stopped", timeout=60)
    assert culled["reason"].startswith("culled: idle"), culled
    assert site.file_at(culled["saved_commit"], "note.txt") == "idle\n"
    # the busy one outlived the idle time several times over
    still = site.show(busy["id"])
    assert still["state"] == "running", still
    task = site.api("GET", f"/experiments/{culled['experiment_id']}").json()
    assert task["state"] == "aborted"  # its compute is freed
    site.api("POST", f"/workspaces/{busy['id']}/stop", json={"discard": True})


def _pid_listening_on(address: str) -> int:
    path = address.removeprefix("unix:")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if b"headwater.runtime.jupyter" in b" ".join(cmdline) and path.encode() in environ:
            return int(entry.name)
    raise AssertionError(f"no process serves {path}")


def test_a_workspace_on_the_linked_git_repo_holds_the_branch_or_commit_asked_for(
    site: Site,
) -> None:
    origin = make_origin(site.server.home.parent / "origin")
    made = site.http.post("/api/v1/projects", json={"name": "gitlab"}, headers=site.admin)
    assert made.status_code == 201, made.text
    linked = Site(site.server, site.http, made.json()["id"])
    git = {"git": {"repo": f"file://{origin.bare}"}}
    assert linked.api("PATCH", "/settings", json=git).status_code == 200

    def read(workspace: dict[str, Any], path: str) -> str | None:
        got = linked.lab(workspace, f"api/contents/{path}")
        return str(got.json()["content"]) if got.status_code == 200 else None

    on_dev = linked.state_is(linked.start(name="dev", git_branch="dev")["id"], "running")
    try:
        assert on_dev["base_commit"] is None  # from the clone, not a version of synced files
        assert read(on_dev, "dev.txt") == "only on dev\n"
        assert read(on_dev, "VERSION") == "1\n"  # dev branched from the first commit
    finally:
        linked.api("POST", f"/workspaces/{on_dev['id']}/stop", json={"discard": True})
    at_first = linked.state_is(linked.start(name="first", git_commit=origin.first)["id"], "running")
    try:
        assert read(at_first, "VERSION") == "1\n"  # master's head says 2
        assert read(at_first, "dev.txt") is None
        assert read(at_first, "train.py") == "print('training')\n"
    finally:
        linked.api("POST", f"/workspaces/{at_first['id']}/stop", json={"discard": True})


def test_a_workspace_killed_with_sigkill_ends_failed_with_nothing_committed(site: Site) -> None:
    started = site.start(name="doomed", idle_seconds=3600)
    running = site.state_is(started["id"], "running")
    site.lab(
        running,
        "api/contents/half.txt",
        method="PUT",
        json={"type": "file", "format": "text", "content": "half\n"},
    )
    before = [v["id"] for v in site.versions()]
    # the address the server knows is internal; find the process by its socket
    address = _address_of(site, running)
    os.kill(_pid_listening_on(address), signal.SIGKILL)
    failed = site.state_is(started["id"], "failed", timeout=60)
    assert failed["saved_commit"] is None
    assert [v["id"] for v in site.versions()] == before
    assert site.lab(running, "lab").status_code == 409


def _address_of(site: Site, workspace: dict[str, Any]) -> str:
    """JupyterLab may answer before the runtime's running report (which carries the folder)
    or its "serving on" log line reaches the server: wait for either."""

    def workdir() -> str | None:
        task = site.api("GET", f"/experiments/{workspace['experiment_id']}").json()
        return task.get("runner", {}).get("workdir") or _workdir_from_logs(site, workspace)

    found = wait_until(workdir, message="the workspace's folder was never reported")
    return f"unix:{found}/replica.sock"


def _workdir_from_logs(site: Site, workspace: dict[str, Any]) -> str | None:
    logs = site.api("GET", f"/experiments/{workspace['experiment_id']}/logs").json()
    for chunk in logs["chunks"]:
        if "serving on unix:" in chunk["text"]:
            return str(chunk["text"].split("serving on unix:")[1].split()[0].rsplit("/", 1)[0])
    return None


def test_a_terminal_runs_through_the_proxy_inside_the_sandbox(
    site: Site, lab: dict[str, Any]
) -> None:
    made = site.lab(lab, "api/terminals", method="POST", json={})
    assert made.status_code == 200, made.text
    name = made.json()["name"]
    url = _ws_url(site, f"/workspaces/{lab['id']}/terminals/websocket/{name}")
    home = site.server.home
    seen = ""
    with connect(url, additional_headers=site.admin, open_timeout=30) as ws:
        ws.send(json.dumps(["stdin", f"ls -A {home} | wc -l; echo done-$((6*7))\r"]))
        deadline = time.monotonic() + 30
        while "done-42" not in seen and time.monotonic() < deadline:
            kind, *rest = json.loads(ws.recv(timeout=30))
            if kind == "stdout":
                seen += rest[0]
    assert "done-42" in seen, seen
    # the server home (database, secret key, admin token) is an empty folder in there
    lines = [ln.strip() for ln in seen.splitlines()]
    assert "0" in lines, seen
    site.lab(lab, f"api/terminals/{name}", method="DELETE")

"""``hw workspace`` end to end (issue 15): a real ``hw server`` whose local worker runs a real
JupyterLab in the sandbox, driven by ``hw`` in subprocesses. Start with ``--wait``, list, open
(the URL it prints answers 200 with the login's token), a file written through JupyterLab's
contents API saved with ``save -m`` and listed by ``hw files versions``, a conflicting save
refused naming the file and what to do, stop; a non-member and a read-only member refused in
one clear paragraph.

The server runs on its own short home (not the session's ``live_server``): a workspace's
socket path must fit a Unix socket's 108 bytes.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Hw, make_hw
from tests.support.liveserver import RunningServer, running_server

pytest.importorskip("jupyterlab")

WAIT = "240"  # seconds `--wait` waits: a queue, a sandbox, JupyterLab to start
NAME = "nb"


@dataclass
class Site:
    server: RunningServer
    http: httpx.Client
    project: str
    admin: Hw
    root: Path
    head: str | None = None

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.server.admin_token}"}

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(
            method, f"/api/v1/projects/{self.project}{path}", headers=self.bearer, **kwargs
        )

    def sync(self, files: dict[str, str]) -> str:
        """Commit ``files`` as the project's files from the last head, as `hw sync` does."""
        entries = []
        for path, text in files.items():
            blob = text.encode()
            digest = hashlib.sha256(blob).hexdigest()
            put = self.api("PUT", f"/files/objects/{digest}", content=blob)
            assert put.status_code in (200, 201), put.text
            entries.append({"path": path, "hash": digest, "size": len(blob)})
        made = self.api("POST", "/files/commits", json={"entries": entries, "base": self.head})
        assert made.status_code == 201, made.text
        self.head = str(made.json()["id"])
        return self.head

    def user(self, access: str | None) -> Hw:
        """``hw`` logged in as a new user, a member with ``access`` to files and jobs unless
        None, acting on the site's project."""
        hw = make_hw(self.root, f"u{uuid.uuid4().hex[:8]}")
        made = self.admin.json("user", "create", hw.username, "--email", hw.email)
        hw("login", "--url", self.server.url, "--token", made["token"])
        if access is not None:
            grant = {"email": hw.email, "files": access, "jobs": access}
            assert self.api("POST", "/members", json=grant).status_code == 201
        hw.env["HEADWATER_PROJECT"] = self.project
        return hw

    def write(self, workspace: dict[str, Any], path: str, text: str) -> None:
        """A file written in the workspace through JupyterLab's contents API (the proxy)."""
        body = {"type": "file", "format": "text", "content": text}
        wrote = self.http.put(
            f"/workspaces/{workspace['id']}/api/contents/{path}", json=body, headers=self.bearer
        )
        assert wrote.status_code in (200, 201), wrote.text


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = Path(f"/tmp/hw-wsc-{uuid.uuid4().hex[:6]}")  # short: the socket path must fit
    tmp.mkdir()
    try:
        with (
            running_server(tmp / "home", tmp / "server.log", "--log-level", "warning") as server,
            httpx.Client(base_url=server.url, timeout=60) as http,
        ):
            root = tmp_path_factory.mktemp("hw-workspaces")
            admin = make_hw(root, "admin")
            admin("login", "--url", server.url, "--token", server.admin_token)
            made = admin.json("project", "create", "notebooks")
            admin.env["HEADWATER_PROJECT"] = made["id"]
            built = Site(server, http, made["id"], admin, root)
            tiny = {"name": "tiny", "cpus": 0.1, "memory_mb": 64}
            assert http.post("/api/v1/compute", json=tiny, headers=built.bearer).is_success
            built.sync({"README.md": "# notebooks\n"})
            try:
                yield built
            finally:  # whatever a failed test left running
                for w in built.api("GET", "/workspaces", params={"active": True}).json():
                    built.api("POST", f"/workspaces/{w['id']}/stop", json={"discard": True})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def lab(site: Site) -> dict[str, Any]:
    """``hw workspace start nb --wait``: running when it returns."""
    started: dict[str, Any] = site.admin.json(
        "workspace", "start", NAME, "--compute", "tiny", "--wait", "--timeout", WAIT
    )
    assert started["state"] == "running", started
    assert started["base_commit"] == site.head
    return started


def test_start_wait_list_and_open_a_url_that_answers_with_the_login(
    site: Site, lab: dict[str, Any]
) -> None:
    listed = site.admin.json("workspace", "list")
    assert [(w["name"], w["state"]) for w in listed] == [(NAME, "running")]
    assert site.admin.json("workspace", "list", "--active")[0]["id"] == lab["id"]
    # no display in the test's environment: printed, not opened
    opened = site.admin.json("workspace", "open", NAME, DISPLAY="", WAYLAND_DISPLAY="")
    assert opened["url"] == f"{site.server.url}/workspaces/{lab['id']}/lab"
    assert opened["opened"] is False
    printed = site.admin("workspace", "open", NAME, DISPLAY="", WAYLAND_DISPLAY="")
    assert printed.stdout.strip() == opened["url"]
    token = site.admin.config()["token"]
    page = httpx.get(opened["url"], headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert page.status_code == 200, page.text[:500]
    assert "JupyterLab" in page.text
    # without the login the same URL is refused
    assert httpx.get(opened["url"], timeout=60).status_code == 401


def test_open_hands_the_url_to_the_browser_when_there_is_a_display(
    site: Site, lab: dict[str, Any], tmp_path: Path
) -> None:
    seen = tmp_path / "opened"
    browser = tmp_path / "browser"
    browser.write_text(f'#!/bin/sh\necho "$1" > {seen}\n')
    browser.chmod(0o755)
    # webbrowser runs $BROWSER (with %s for the URL) before any browser it finds itself
    opened = site.admin.json("workspace", "open", NAME, DISPLAY=":99", BROWSER=f"{browser} %s")
    assert opened["opened"] is True
    assert seen.read_text().strip() == opened["url"]
    seen.unlink()
    site.admin.json(
        "workspace", "open", NAME, "--no-browser", DISPLAY=":99", BROWSER=f"{browser} %s"
    )
    assert not seen.exists()


def test_a_file_written_in_the_workspace_and_saved_shows_in_hw_files_versions(
    site: Site, lab: dict[str, Any]
) -> None:
    site.write(lab, "analysis.py", "print('from the lab')\n")
    saved = site.admin("workspace", "save", NAME, "-m", "from the lab")
    versions = site.admin.json("files", "versions")
    newest = versions[0]
    assert newest["message"] == "from the lab"
    assert newest["id"] != site.head
    assert f"saved as version {newest['id'][:12]}" in saved.stdout
    tree = site.api("GET", "/files/tree", params={"commit": newest["id"]}).json()
    assert {e["path"] for e in tree["entries"]} == {"README.md", "analysis.py"}
    site.head = newest["id"]
    again = site.admin.json("workspace", "save", NAME, "-m", "same")
    assert again["unchanged"] is True


def test_a_conflicting_save_names_the_file_and_what_to_do_in_one_paragraph(
    site: Site, lab: dict[str, Any]
) -> None:
    site.sync({"README.md": "server side\n", "analysis.py": "print('from the lab')\n"})
    head = site.head
    site.write(lab, "README.md", "lab side\n")
    refused = site.admin("workspace", "save", NAME, "-m", "mine", code=1)
    assert refused.stdout == ""
    said = refused.stderr.strip()
    assert said.startswith(f"Error: workspace {NAME}: not saved:"), said
    assert "README.md" in said
    assert "nothing was committed" in said
    assert f"hw workspace save {NAME}" in said
    assert f"hw workspace stop {NAME} --discard" in said
    assert "\n" not in said  # one paragraph
    assert site.admin.json("files", "versions")[0]["id"] == head
    # undone as the hint says: the save then brings the server's side in
    site.write(lab, "README.md", "# notebooks\n")
    merged = site.admin.json("workspace", "save", NAME, "-m", "after undoing")
    assert merged["merged"] is True
    assert merged["workspace"]["state"] == "running"
    site.head = merged["commit"]


def test_a_non_member_and_a_read_only_member_are_refused_clearly(
    site: Site, lab: dict[str, Any]
) -> None:
    outsider = site.user(None)
    refused = outsider("workspace", "start", "mine", code=1)
    assert refused.stderr.startswith("Error: "), refused.stderr
    assert f"no project with id {site.project!r} that you can access" in refused.stderr
    assert outsider("workspace", "open", NAME, code=1).stderr.startswith("Error: ")
    reader = site.user("read")
    denied = reader("workspace", "start", "mine", code=1).stderr
    assert denied.startswith(f"Error: project notebooks ({site.project}): "), denied
    assert "this needs 'all' access to jobs" in denied
    assert "Ask the project's owner for that access." in denied
    assert "Traceback" not in denied
    # seeing one is reading jobs; saving it is editing files and jobs
    assert [w["name"] for w in reader.json("workspace", "list")] == [NAME]
    assert "'all' access" in reader("workspace", "save", NAME, code=1).stderr


def test_stop_saves_and_frees_it(site: Site, lab: dict[str, Any]) -> None:
    site.write(lab, "last.txt", "bye\n")
    stopped = site.admin.json("workspace", "stop", NAME, "-m", "done for today")
    assert stopped["workspace"]["state"] == "stopped"
    assert site.admin.json("files", "versions")[0]["message"] == "done for today"
    assert site.admin.json("workspace", "list", "--active") == []
    ended = site.admin("workspace", "open", NAME, code=1)
    assert f"hw workspace start {NAME}" in ended.stderr

"""The UI and the API send the usual security headers, and ``/metrics`` and the API docs are
public only where the settings say (issue 11: before, no answer carried CSP, X-Frame-Options,
nosniff or a Referrer-Policy, and /metrics and /docs were open on every address).

A full disk answers a structured 507 (before: a bare 500): blobs are written to a real 1 MiB
tmpfs mounted as the server's objects folder.
"""

from __future__ import annotations

import errno
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from headwater.client.sync import push_folder
from headwater.schemas.frames import encode
from headwater.storage.objects import hash_bytes
from tests.e2e.ui.conftest import PASSWORD, User, log_in
from tests.security.conftest import Site
from tests.support.api import ERROR_KEYS, Server

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.slow

DOCS = ("/metrics", "/docs", "/redoc", "/api/v1/openapi.json")


def assert_guarded(answer: httpx.Response) -> None:
    """The headers every answer carries."""
    headers = answer.headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"], answer.url
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


def csp(answer: httpx.Response) -> dict[str, list[str]]:
    directives = {}
    for part in answer.headers["content-security-policy"].split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def test_every_kind_of_answer_carries_the_security_headers(site: Site) -> None:
    user = site.user()
    token = user.config.token
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=site.url, timeout=30) as http:
        ui = http.get("/")
        assert ui.status_code == 200
        assert_guarded(ui)
        # the UI's own policy: scripts and styles from this origin only, nothing inline
        assert csp(ui)["script-src"] == ["'self'"]
        assert csp(ui)["style-src"] == ["'self'"]
        assert csp(ui)["object-src"] == ["'none'"]
        for answer in (
            http.get("/projects/x/flows"),  # a client route of the UI
            http.get("/healthz"),
            http.get("/api/v1/auth/me", headers=auth),
            http.get("/api/v1/auth/me"),  # 401
            http.get("/api/v1/nope", headers=auth),  # 404
            http.post("/api/v1/projects", headers=auth, json={}),  # 422
            http.post("/api/v1/projects", headers=auth, content=b" " * (9 << 20)),  # 413
        ):
            assert_guarded(answer)
        assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', ui.text)
        for asset in assets:
            assert_guarded(http.get(asset))


def test_a_file_served_from_a_project_keeps_its_sandbox_policy(site: Site, tmp_path: Path) -> None:
    user = site.user()
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "page.html").write_text("<script>alert(1)</script>")
    push_folder(user.files.repo(), folder, message="html")
    answer = httpx.get(
        f"{site.url}/api/v1/projects/{user.config.project}/files/content/page.html",
        headers={"Authorization": f"Bearer {user.config.token}"},
    )
    assert answer.status_code == 200
    assert answer.headers["content-security-policy"] == "sandbox"
    assert answer.headers["x-frame-options"] == "DENY"


def test_docs_and_metrics_are_public_on_loopback(site: Site) -> None:
    """``hw server`` on 127.0.0.1 (the default): one user on a laptop, nothing to hide."""
    with httpx.Client(base_url=site.url, timeout=30) as http:
        for path in DOCS:
            answer = http.get(path)
            assert answer.status_code == 200, path
            assert_guarded(answer)
        swagger = http.get("/docs")
    # Swagger UI comes from a CDN with an inline start script: /docs allows exactly that
    policy = csp(swagger)
    for url in re.findall(r"""(?:src|href)=["'](https://[^"']+)""", swagger.text):
        origin = "/".join(url.split("/")[:3])
        kind = "script-src" if url.endswith(".js") else "style-src"
        if url.endswith((".png", ".ico", ".svg")):
            kind = "img-src"
        assert origin in policy[kind], (url, policy[kind])
    assert "'unsafe-inline'" in policy["script-src"]
    assert policy["frame-ancestors"] == ["'none'"]


@pytest.fixture
def server_on(tmp_path: Path) -> Iterator[Any]:
    made: list[Server] = []

    def start(**settings: Any) -> Server:
        server = Server(tmp_path / f"home{len(made)}", None, **settings)
        made.append(server)
        return server

    yield start
    for server in made:
        server.app.state.platform.close()


@pytest.mark.parametrize(
    ("settings", "public"),
    [
        ({"host": "0.0.0.0"}, False),  # every address: login
        ({"host": "192.0.2.10"}, False),
        ({"host": "0.0.0.0", "public_docs": True}, True),  # the admin opens them
        ({"host": "127.0.0.1", "public_docs": False}, False),  # or closes them on loopback
        ({"host": "::1"}, True),
        ({"host": "localhost"}, True),
    ],
)
def test_docs_and_metrics_follow_the_setting(
    server_on: Any, settings: dict[str, Any], public: bool
) -> None:
    server = server_on(**settings)
    anonymous = server.client().http  # a TestClient: paths as given, outside /api/v1 too
    admin = {"Authorization": f"Bearer {server.admin_token()}"}
    for path in DOCS:
        answer = anonymous.get(path)
        if public:
            assert answer.status_code == 200, path
        else:
            assert answer.status_code == 401, path
            assert set(answer.json()) == ERROR_KEYS
        assert anonymous.get(path, headers=admin).status_code == 200, path


# -- a full disk ---------------------------------------------------------------------------------


@contextmanager
def server_on_tmpfs(home: Path, mountpoint: Path, size: str) -> Iterator[Server]:
    """A server on ``home`` with ``mountpoint`` (inside it, or it) a tmpfs of ``size``: a disk
    that fills up for real (we run as root in CI and here; elsewhere the test skips)."""
    mountpoint.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        server = Server(home, None)
        try:
            yield server
        finally:
            server.app.state.platform.close()
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=True)


@pytest.fixture
def small_objects(tmp_path: Path) -> Iterator[Server]:
    """A server whose objects folder is a 1 MiB tmpfs."""
    home = tmp_path / "home"
    with server_on_tmpfs(home, home / "objects", "1m") as server:
        yield server


def test_a_full_disk_answers_507_with_a_structured_error(small_objects: Server) -> None:
    api = small_objects.admin
    pid = api.personal_project_id
    big = b"\x07" * (2 << 20)
    answer = api.put(f"/projects/{pid}/files/objects/{hash_bytes(big)}", content=big)
    assert answer.status_code == 507, answer.text
    body = answer.json()
    assert set(body) == ERROR_KEYS
    assert body["error"] == "insufficient_storage"
    assert "disk space" in body["detail"]
    assert "hw admin gc" in body["hint"]
    # nothing half-written stays: a small file still fits and is stored
    small = b"fits"
    stored = api.put(f"/projects/{pid}/files/objects/{hash_bytes(small)}", content=small)
    assert stored.status_code == 201, stored.text
    # a batch of small blobs that do not fit together: the same answer
    blobs = [(hash_bytes(bytes([i]) * (300 << 10)), bytes([i]) * (300 << 10)) for i in range(5)]
    batch = api.post(f"/projects/{pid}/files/objects/batch", content=b"".join(encode(blobs)))
    assert batch.status_code == 507, batch.text
    assert batch.json()["error"] == "insufficient_storage"


def test_the_ui_runs_under_its_policy_without_a_violation(site: Site, browser: Browser) -> None:
    """Chromium loads the UI's pages (dashboard, flow canvas, a metric chart) and reports no
    Content-Security-Policy violation: the policy breaks nothing the UI does."""
    name = "csp-user"
    made = httpx.post(
        f"{site.url}/api/v1/users",
        headers={"Authorization": f"Bearer {site.server.admin_token}"},
        json={"username": name, "email": f"{name}@example.org", "password": PASSWORD},
        timeout=30,
    )
    assert made.status_code == 201, made.text
    user = User(name, f"{name}@example.org", made.json()["token"], site.url)
    client = site.client(user.token, made.json()["user"]["personal_project_id"])
    pid = client.config.project
    client.flows.import_yaml(
        "flow: Canvas\ntasks:\n  - title: A\n    type: exec\n    input: echo a\n"
        "    computes: [default]\n  - title: B\n    type: exec\n    input: echo b\n"
        "    computes: [default]\nrelations:\n  - from: A\n    to: B\n",
        file_name="canvas.yaml",
    )
    ran = site.run(client, "echo hw_linechart_loss value: 0.5; echo hw_linechart_loss value: 0.25")
    problems: list[str] = []
    context = browser.new_context(base_url=site.url)
    try:
        page = context.new_page()
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        log_in(page, user)
        page.goto(f"/projects/{pid}")
        page.get_by_role("heading").first.wait_for()
        page.goto(f"/projects/{pid}/flows/edit/Canvas")
        page.locator(".react-flow__node").first.wait_for()
        page.goto(f"/projects/{pid}/experiments/{ran.experiment.number}")
        page.locator("figure[data-metric='loss']").wait_for()
    finally:
        context.close()
    violations = [p for p in problems if "Content Security Policy" in p or "Refused to" in p]
    assert violations == [], violations


@pytest.fixture
def small_home(tmp_path: Path) -> Iterator[Server]:
    """A server whose whole home (its SQLite database too) is a 16 MiB tmpfs."""
    home = tmp_path / "home"
    with server_on_tmpfs(home, home, "16m") as server:
        yield server


def fill(path: Path) -> None:
    """Write zeros to ``path`` until its file system is full."""
    with path.open("wb") as sink:
        try:
            while True:
                sink.write(b"\0" * 65536)
                sink.flush()
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise


def test_a_full_database_disk_answers_507_and_recovers(small_home: Server) -> None:
    filler = small_home.home / "filler"
    fill(filler)
    api = small_home.client(small_home.admin_token(), raise_server_exceptions=False)
    project = {"name": "on-a-full-disk", "description": "x" * 5000}
    answer = api.post("/projects", json=project)
    assert answer.status_code == 507, answer.text
    assert answer.json()["error"] == "insufficient_storage"
    assert answer.json()["where"] == "database"
    filler.unlink()
    assert api.post("/projects", json=project).status_code == 201  # nothing half-made was left

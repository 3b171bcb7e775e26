"""The web UI's files at ``/``: client routes fall back to index.html, the server's own paths
never do, and hashed assets are cached for a year."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from headwater.server import ui
from tests.support.api import Server

INDEX = "<!doctype html><title>Headwater</title><div id=root></div>"
ASSET = "assets/index-CL1it7md.js"


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / ASSET).write_text("console.log(1)")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    (tmp_path.parent / "secret.txt").write_text("outside")
    app = FastAPI()

    @app.get("/api/v1/thing")
    def thing() -> dict[str, str]:
        return {"ok": "yes"}

    ui.install(app, tmp_path)
    return TestClient(app)


@pytest.mark.parametrize("path", ["/", "/projects", "/projects/p1/experiments/3", "/login?x=1"])
def test_client_routes_get_the_index_revalidated(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"


def test_hashed_assets_are_immutable_and_other_files_revalidate(client: TestClient) -> None:
    asset = client.get("/" + ASSET)
    assert asset.status_code == 200
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    icon = client.get("/favicon.svg")
    assert icon.status_code == 200
    assert icon.headers["cache-control"] == "no-cache"


def test_text_files_go_out_gzipped_to_who_accepts_it_and_plain_to_others(
    client: TestClient, tmp_path: Path
) -> None:
    big = "export const x = 1;\n" * 2000
    (tmp_path / ASSET).write_text(big)
    zipped = client.get("/" + ASSET, headers={"Accept-Encoding": "gzip, br"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert zipped.headers["content-type"].startswith("text/javascript")
    assert int(zipped.headers["content-length"]) < len(big) / 10
    assert zipped.text == big  # decoded by the client: the same bytes
    plain = client.get("/" + ASSET, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.text == big
    (tmp_path / ASSET).write_text(big + "// rebuilt\n")  # a new build is compressed anew
    assert client.get("/" + ASSET).text.endswith("// rebuilt\n")
    index = client.get("/projects", headers={"Accept-Encoding": "gzip"})
    assert (index.headers["content-encoding"], index.text) == ("gzip", INDEX)


def test_a_missing_asset_is_404_not_the_index(client: TestClient) -> None:
    assert client.get("/assets/index-gone1234.js").status_code == 404


@pytest.mark.parametrize(
    "path", ["/api/v1/nope", "/api", "/api/", "/healthz/x", "/metrics/x", "/docs/x", "/redoc/x"]
)
def test_server_paths_never_fall_back(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404
    assert client.get("/api/v1/thing").json() == {"ok": "yes"}


def test_no_escape_from_the_static_folder(client: TestClient) -> None:
    response = client.get("/..%2Fsecret.txt")
    assert "outside" not in response.text


def test_other_methods_are_not_served(client: TestClient) -> None:
    assert client.post("/projects").status_code == 405


def test_missing_build_says_how_to_build(tmp_path: Path) -> None:
    app = FastAPI()
    ui.install(app, tmp_path / "none")
    response = TestClient(app).get("/projects")
    assert response.status_code == 200
    assert "npm run build" in response.text


def test_the_app_serves_the_ui_and_keeps_api_errors(server: Server) -> None:
    home = server.admin.get("/")
    assert home.status_code == 200
    assert home.headers["content-type"].startswith("text/html")
    assert 'id="root"' in home.text or "not built" in home.text
    missing = server.admin.get("/api/v1/no-such-route")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/json")
    assert server.admin.get("/healthz").json()["status"] == "ok"
    assert server.admin.get("/docs").status_code == 200

"""``hw demo``: from nothing to a served platform with a demo project, in one command."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx

from tests.e2e.conftest import Hw, LiveServer, free_port, make_hw, run_exec


def test_demo_starts_a_server_sets_up_and_stops_with_exit(tmp_path: Path) -> None:
    hw = make_hw(tmp_path, "newcomer")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    home = tmp_path / "demo-home"
    hw.env.update(HEADWATER_URL=url, HEADWATER_HOME=str(home))
    # As a shell runs it: a fresh interpreter, since the demo starts and stops a child.
    result = run_exec(("demo", "--exit"), hw.environment(), "")

    assert result.code == 0, result
    out = result.stdout
    assert f"starting one on {home}" in out
    assert "Created project demo" in out
    assert "DEMO_GREETING" in out
    assert "DEMO_API_TOKEN" in out
    # The example's flow ran: the data, a grid of three training runs, the best, a report.
    assert "Pushed the example classifier" in out
    assert "Pushed its data" in out
    assert "Started run 1 of flow 'Iris'" in out
    for lr in ("lr=0.01", "lr=0.1", "lr=0.5"):
        assert lr in out
    assert "accuracy" in out
    assert "Iris (version 1)" in out
    for line in ("Iris Data   data   success   1 success", "Train       exec   success   3 success",
                 "Report      exec   success   1 success"):  # fmt: skip
        assert " ".join(line.split()) in " ".join(out.split())
    assert "best_accuracy=1.0000" in out  # the report ran on the most accurate model
    assert f"{url}/" in out
    assert f"{url}/docs" in out
    config = hw.config()
    assert config["url"] == url
    assert config["token"] == (home / "admin.token").read_text().strip()
    assert config["project"]
    try:
        httpx.get(f"{url}/healthz", timeout=1)
        raise AssertionError("the demo server still answers after --exit")
    except httpx.TransportError:
        pass


def test_demo_reuses_a_running_server_and_its_project(live_server: LiveServer, admin: Hw) -> None:
    first = admin("demo", "--exit", HEADWATER_URL=live_server.url).stdout
    assert "with your stored login" in first
    assert "project demo" in first
    # --port wins over the configured URL (here one where nothing answers)
    port = live_server.url.rsplit(":", 1)[1]
    dead = f"http://127.0.0.1:{free_port()}"
    again = admin("demo", "--exit", "--port", port, HEADWATER_URL=dead).stdout
    assert "Reusing project demo" in again

    demo_id = admin.config()["project"]
    assert admin.json("project", "show")["project"]["name"] == "demo"
    assert admin.json("env", "list") == {"DEMO_GREETING": "hello from headwater"}
    assert [s["key"] for s in admin.json("secret", "list")] == ["DEMO_API_TOKEN"]
    assert demo_id in {p["id"] for p in admin.json("project", "list")["items"]}


class _NotHeadwater(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(404)
        self.end_headers()
        self.wfile.write(b"some other app")

    def log_message(self, *_: object) -> None:
        pass


@contextmanager
def _other_app() -> Iterator[int]:
    """Another program's web server on a free port of loopback."""
    server = HTTPServer(("127.0.0.1", 0), _NotHeadwater)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_demo_on_a_busy_port_says_so_and_how_to_pick_another(tmp_path: Path) -> None:
    hw = make_hw(tmp_path, "newcomer")
    hw.env.update(HEADWATER_HOME=str(tmp_path / "demo-home"))
    with _other_app() as port:  # another web app answers there
        busy = hw("demo", "--exit", "--port", str(port), code=1)
    assert f"port {port} is taken by something that is not a Headwater server" in busy.stderr
    assert f"hw demo --port {port + 1}" in busy.stderr
    assert "Traceback" not in busy.stderr
    with socket.socket() as holder:  # bound, not answering: the server could not listen there
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        busy = hw("demo", "--exit", "--port", str(port), code=1)
    assert f"port {port} is taken" in busy.stderr
    assert f"hw demo --port {port + 1}" in busy.stderr
    assert not (tmp_path / "newcomer" / "config" / "config.json").exists()

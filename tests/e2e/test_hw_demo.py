"""``hw demo``: from nothing to a served platform with a demo project, in one command."""

from __future__ import annotations

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
    again = admin("demo", "--exit", HEADWATER_URL=live_server.url).stdout
    assert "Reusing project demo" in again

    demo_id = admin.config()["project"]
    assert admin.json("project", "show")["project"]["name"] == "demo"
    assert admin.json("env", "list") == {"DEMO_GREETING": "hello from headwater"}
    assert [s["key"] for s in admin.json("secret", "list")] == ["DEMO_API_TOKEN"]
    assert demo_id in {p["id"] for p in admin.json("project", "list")["items"]}

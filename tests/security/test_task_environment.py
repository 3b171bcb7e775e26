"""A task inherits an allowlist of the server's environment, never its credentials."""

from __future__ import annotations

from pathlib import Path

from tests.security.conftest import Site
from tests.support.liveserver import running_server

SHOW = "env | sort; echo end-of-env"


def test_the_servers_own_credentials_never_reach_a_task(tmp_path: Path) -> None:
    env = {
        "AWS_SECRET_ACCESS_KEY": "platform-cloud-key",
        "PGPASSWORD": "platform-db-password",
        "WANDB_MODE": "offline",
        "HEADWATER_TASK_ENV_PASS": "WANDB_MODE",
        "LC_TELEPHONE": "C",
    }
    with running_server(tmp_path / "home", tmp_path / "server.log", **env) as server:
        site = Site(server=server, tmp=tmp_path)
        ran = site.run(site.user(), SHOW)
        for client in site.clients:
            client.close()
    assert ran.experiment.state.value == "success", ran.log
    assert "end-of-env" in ran.log
    assert "platform-cloud-key" not in ran.log
    assert "platform-db-password" not in ran.log
    assert "WANDB_MODE=offline" in ran.log  # passed on by name
    assert "LC_TELEPHONE=C" in ran.log  # the locale passes
    assert "HEADWATER_TOKEN=" in ran.log  # the task's own, set from the spec (masked)

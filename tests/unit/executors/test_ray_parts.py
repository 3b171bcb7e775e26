"""The Ray executor's pure parts: the job's command line, its resources, the cluster's total.
(The backend itself runs against a real Ray head in tests/contracts/test_executor.py.)"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from headwater.domain.compute import Resources
from headwater.domain.errors import InvalidInput
from headwater.executors import registry
from headwater.executors.base import Launch
from headwater.executors.ray import (
    MIB,
    RayExecutor,
    auth_headers,
    cluster_resources,
    entrypoint,
    entrypoint_resources,
)

LAUNCH = Launch(
    experiment_id="e1",
    project_id="p1",
    server_url="http://hw:8100",
    token="hw_task_SECRET",
    resources=Resources(cpus=2.0, memory_mb=512, gpus=1),
    spec={"secrets": "SECRET VALUE"},
)


def test_the_command_line_names_the_task_and_carries_no_secret() -> None:
    line = entrypoint(LAUNCH, python="python", workroot="/scratch/hw", sandbox={"network": True})
    argv = shlex.split(line)
    assert argv[:4] == ["python", "-m", "headwater.runtime", "e1"]
    assert argv[argv.index("--project") + 1] == "p1"
    assert argv[argv.index("--workroot") + 1] == "/scratch/hw"
    assert json.loads(argv[argv.index("--sandbox") + 1]) == {"network": True}
    assert "SECRET" not in line  # the token travels in the job's environment, the spec not at all
    assert "--sandbox" not in entrypoint(LAUNCH, python="python", workroot=None, sandbox=None)


def test_a_template_becomes_entrypoint_resources() -> None:
    assert entrypoint_resources(LAUNCH.resources) == {
        "entrypoint_num_cpus": 2.0,
        "entrypoint_num_gpus": 1,
        "entrypoint_memory": 512 * MIB,
    }
    assert entrypoint_resources(Resources(cpus=0.5, memory_mb=0, gpus=0)) == {
        "entrypoint_num_cpus": 0.5
    }
    custom = Resources(
        cpus=1.0, memory_mb=0, gpus=0, custom={"ssd": 0.5, "accelerator_type:A100": 1.0}
    )
    assert entrypoint_resources(custom) == {
        "entrypoint_num_cpus": 1.0,
        "entrypoint_resources": {"accelerator_type:A100": 1.0, "ssd": 0.5},
    }


def test_the_capacity_is_the_alive_nodes_sum() -> None:
    nodes = [
        {"state": "ALIVE", "resources_total": {"CPU": 8.0, "memory": 16 * 1024 * MIB, "GPU": 2.0}},
        {"state": "ALIVE", "resources_total": {"CPU": 4.0, "memory": 8 * 1024 * MIB}},
        {"state": "DEAD", "resources_total": {"CPU": 64.0, "memory": 1024 * MIB, "GPU": 8.0}},
    ]
    assert cluster_resources(nodes) == Resources(cpus=12.0, memory_mb=24 * 1024, gpus=2)


def test_the_capacity_counts_custom_resources_but_not_rays_own() -> None:
    a100 = {
        "CPU": 8.0,
        "memory": 1024 * MIB,
        "GPU": 1.0,
        "object_store_memory": 512 * MIB,
        "accelerator_type:A100": 1.0,
        "node:10.0.0.1": 1.0,
        "node:__internal_head__": 1.0,
    }
    disk = {"CPU": 2.0, "memory": 1024 * MIB, "ssd": 2.0, "node:10.0.0.2": 1.0}
    nodes = [
        {"state": "ALIVE", "resources_total": a100},
        {"state": "ALIVE", "resources_total": disk},
        {"state": "DEAD", "resources_total": {"CPU": 1.0, "ssd": 5.0}},
    ]
    assert cluster_resources(nodes).custom == {"accelerator_type:A100": 1.0, "ssd": 2.0}


def test_the_registry_knows_ray_by_name() -> None:
    # the Ray executor with endpoint replicas on Ray Serve; every other task a Ray Job
    assert registry.available()["ray"] == "headwater.executors.rayserve:RayServeExecutor"
    from headwater.executors.rayserve import RayServeExecutor

    assert issubclass(RayServeExecutor, RayExecutor)


def test_a_head_of_its_own_needs_the_server_home() -> None:
    with pytest.raises(InvalidInput, match="home"):
        RayExecutor(None, home=None)


def test_the_dashboard_calls_carry_rays_token_only_in_token_mode(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    monkeypatch.setenv("RAY_AUTH_TOKEN", "secret-of-the-cluster")
    assert auth_headers() == {}
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    assert auth_headers() == {"Authorization": "Bearer secret-of-the-cluster"}
    monkeypatch.delenv("RAY_AUTH_TOKEN")
    (tmp_path / "auth_token").write_text("from-the-file\n")
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(tmp_path / "auth_token"))
    assert auth_headers() == {"Authorization": "Bearer from-the-file"}
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(tmp_path / "none"))
    assert auth_headers() == {}  # no token to send: Ray's answer will say so

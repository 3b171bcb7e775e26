"""The Ray Serve backend's pure parts: one application per endpoint version, its replicas
the version's tasks (in launch order), other applications in Serve's config left as found."""

from __future__ import annotations

from typing import Any

from headwater.domain.compute import Resources
from headwater.executors.ray import ray_resources
from headwater.executors.rayserve import (
    PRUNE_SECONDS,
    app_name,
    application,
    ended,
    route_prefix,
    tasks_of,
    with_task,
    without_task,
)
from headwater.server.gateway.upstream import ReplicaPool, predict_head

ARGS = {"server_url": "http://hw:8080", "project_id": "p1", "python": None, "sandbox": None}


def _fresh(version: str, task: str) -> dict[str, Any]:
    return application(version, [[task, f"tok-{task}"]], args=ARGS, resources=Resources(0.5, 64, 0))


def test_a_version_is_an_application_of_its_own_under_its_route_prefix() -> None:
    app = _fresh("v1", "t1")
    assert app["name"] == app_name("v1") == "hw-v1"
    assert app["route_prefix"] == route_prefix("v1") == "/hw/v1"
    assert app["import_path"] == "headwater.executors.serve_replica:build"
    [deployment] = app["deployments"]
    assert deployment["num_replicas"] == 1
    assert deployment["user_config"] == {"tasks": [["t1", "tok-t1"]]}
    assert deployment["ray_actor_options"] == {"num_cpus": 0.5, "memory": 64 * 1024 * 1024}


def test_a_compute_s_gpus_reach_the_replica_s_actor() -> None:
    assert ray_resources(Resources(cpus=2, memory_mb=0, gpus=1)) == {"num_cpus": 2, "num_gpus": 1}
    custom = Resources(cpus=1, memory_mb=0, gpus=0, custom={"accelerator_type:A100": 1, "ssd": 2})
    assert ray_resources(custom) == {
        "num_cpus": 1,
        "resources": {"accelerator_type:A100": 1, "ssd": 2},
    }


def test_launches_add_tasks_in_order_and_a_second_launch_of_one_task_adds_nothing() -> None:
    foreign = {"name": "theirs", "import_path": "x:y", "route_prefix": "/x"}
    config: dict[str, Any] = {"applications": [foreign]}
    config = with_task(config, "v1", ["t1", "a"], _fresh("v1", "t1"))
    config = with_task(config, "v1", ["t2", "b"], _fresh("v1", "t2"))
    again = with_task(config, "v1", ["t2", "b"], _fresh("v1", "t2"))
    assert again == config
    [theirs, mine] = config["applications"]
    assert theirs == foreign
    assert [t[0] for t in tasks_of(mine)] == ["t1", "t2"]
    assert mine["deployments"][0]["num_replicas"] == 2


def test_a_cancelled_task_leaves_and_an_application_without_tasks_goes() -> None:
    foreign = {"name": "theirs", "import_path": "x:y", "route_prefix": "/x"}
    config: dict[str, Any] = {"applications": [foreign]}
    config = with_task(config, "v1", ["t1", "a"], _fresh("v1", "t1"))
    config = with_task(config, "v1", ["t2", "b"], _fresh("v1", "t2"))
    config = with_task(config, "v2", ["t3", "c"], _fresh("v2", "t3"))
    fewer = without_task(config, "t1")
    assert [t[0] for t in tasks_of(fewer["applications"][1])] == ["t2"]
    assert fewer["applications"][1]["deployments"][0]["num_replicas"] == 1
    gone = without_task(fewer, "t3")
    assert [a["name"] for a in gone["applications"]] == ["theirs", "hw-v1"]
    assert len(config["applications"]) == 3  # the input is left as it was


def test_the_gateway_reaches_a_serve_application_over_tcp_under_its_prefix() -> None:
    pool = ReplicaPool("http://10.0.0.5:8123/hw/v1")
    assert pool.tcp == ("10.0.0.5", 8123)
    head = pool.head(predict_head(2, "r1"))
    assert head.startswith(b"POST /hw/v1/predict HTTP/1.1\r\n")
    unix = ReplicaPool("/tmp/x/replica.sock")
    assert unix.tcp is None
    assert unix.head(predict_head(2, "r1")) == predict_head(2, "r1")


def test_tasks_the_engine_no_longer_polls_have_ended_but_a_fresh_server_waits_to_judge() -> None:
    config: dict[str, Any] = {"applications": []}
    config = with_task(config, "v1", ["t1", "a"], _fresh("v1", "t1"))
    config = with_task(config, "v1", ["t2", "b"], _fresh("v1", "t2"))
    assert ended(config, {}, since=100.0, now=100.0 + PRUNE_SECONDS - 1) == []
    polled = {"t1": 100.0 + PRUNE_SECONDS}
    assert ended(config, polled, since=100.0, now=100.0 + PRUNE_SECONDS + 1) == ["t2"]

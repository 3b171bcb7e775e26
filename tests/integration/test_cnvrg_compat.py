"""cnvrg flows and scripts run unchanged (issue 12): seed 002's YAML examples imported as
written, and a cnvrg-style script that reads only ``CNVRG_*`` variables, against a real
server, its engine, the local worker and the sandboxed runtime.
"""
# ruff: noqa: F811 (the module's live server and client fixtures are test_flows')

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.client import Client
from headwater.client.sync import push_folder
from tests.integration.test_experiments import Live
from tests.integration.test_flows import (  # noqa: F401 (live and client are fixtures)
    client,
    exec_task,
    flow_yaml,
    live,
    logs,
    py,
    run_flow,
    task,
)

pytestmark = pytest.mark.slow

SEED = Path(__file__).parents[1] / "fixtures" / "seed002"

# Task A records what cnvrg scripts record: a stdout tag whose key holds a space, a value with
# the SDK's log_param, a metric with log_metric and one through a cnvrg_linechart_ line (a
# chart's name holds no space: what follows it are the line's options).
TASK_A = py("""
    import os
    from headwater import Experiment
    e = Experiment()
    e.log_param("route", "1,2")
    for step, loss in enumerate([0.9, 0.5, 0.25]):
        e.log_metric("loss", loss, step=step)
    e.close()
    os.makedirs("output", exist_ok=True)
    open("output/model.txt", "w").write("weights")
    print("cnvrg_tag_model accuracy: 0.9")
    print("cnvrg_linechart_val_acc value: 0.75")
""")
# Task B is a cnvrg script: it reads only the seed's names (and INPUT_<TASK>).
TASK_B = py("""
    import os
    for name in ("CNVRG_TAG_BATCH_SIZE", "CNVRG_TAG_ROUTE", "CNVRG_TASK_A_MODEL_ACCURACY",
                 "CNVRG_TASK_A_ROUTE", "CNVRG_TASK_A_LOSS", "CNVRG_TASKS_PASSED_CONDITION"):
        print("seen", name, "=", os.environ.get(name, "-"))
    passed = os.environ["CNVRG_TASKS_PASSED_CONDITION"].split(",")
    print("model", open(os.path.join(passed[0], "model.txt")).read())
    print("input", os.environ["INPUT_TASK_A"] == passed[0])
    print("cnvrg_tag_used: " + os.environ["CNVRG_TASK_A_MODEL_ACCURACY"])
""")


def _cnvrg_flow() -> str:
    tasks = [
        exec_task("Task A", TASK_A),
        exec_task(
            "Task B",
            TASK_B,
            params=[
                {"key": "batch size", "value": [16]},
                {"key": "route", "value": "{{ Task A.route | hyper }}"},
                {"key": "acc", "value": "{{ Task A.model accuracy }}"},
            ],
            conditions=[
                {"task": "Task A", "objective": "lt", "tag_key": "loss", "target": 0.3},
                {"task": "Task A", "objective": "gt", "tag_key": "val_acc", "target": 0.5},
            ],
        ),
    ]
    return flow_yaml("cnvrg script", tasks, [("Task A", "Task B")])


def test_a_cnvrg_script_reads_the_seeds_variables_in_a_two_task_flow(client: Client) -> None:
    run = run_flow(client, _cnvrg_flow())
    assert run.status == "success", run.model_dump_json(indent=1)
    a, b = task(run, "Task A"), task(run, "Task B")
    assert a.instances[0].tags["model accuracy"] == "0.9"  # a key with a space is a tag
    assert sorted(i.params["route"] for i in b.instances) == ["1", "2"]  # SDK log_param routes
    assert {i.params["acc"] for i in b.instances} == {"0.9"}  # {{ Task A.model accuracy }}
    text = logs(client, b.instances[0].experiment_number)
    assert "seen CNVRG_TAG_BATCH_SIZE = 16" in text
    assert "seen CNVRG_TASK_A_MODEL_ACCURACY = 0.9" in text
    assert "seen CNVRG_TASK_A_ROUTE = 1,2" in text
    assert "seen CNVRG_TASK_A_LOSS = 0.25" in text  # the latest value of an SDK metric
    assert "seen CNVRG_TASKS_PASSED_CONDITION = -" not in text
    assert "model weights" in text
    assert "input True" in text
    assert b.instances[0].tags["used"] == "0.9"


def test_cnvrg_env_off_leaves_only_the_hw_names(client: Client) -> None:
    client.settings.update({"cnvrg_env": False})
    show = py("""
        import os
        print("names", sorted(k for k in os.environ if k.startswith("CNVRG_")))
        env = os.environ
        print("hw", env["HW_TASK_A_MODEL_ACCURACY"], env["HW_TASKS_PASSED_CONDITION"] != "")
    """)
    tasks = [
        exec_task("Task A", py('print("hw_tag_model accuracy: 0.9")')),
        exec_task(
            "Task B",
            show,
            params=[{"key": "lr", "value": "0.1"}],
            conditions=[{"task": "Task A", "objective": "max", "tag_key": "model accuracy"}],
        ),
    ]
    run = run_flow(client, flow_yaml("hw names only", tasks, [("Task A", "Task B")]))
    assert run.status == "success", run.model_dump_json(indent=1)
    text = logs(client, task(run, "Task B").instances[0].experiment_number)
    assert "names []" in text
    assert "hw 0.9 True" in text


def test_a_condition_on_a_key_never_recorded_says_so(client: Client) -> None:
    tasks = [
        exec_task("Task A", py('print("hw_tag_acc: 0.9")')),
        exec_task(
            "Task B",
            "echo never",
            conditions=[{"task": "Task A", "objective": "gt", "tag_key": "accuracy", "target": 0}],
        ),
    ]
    run = run_flow(client, flow_yaml("unrecorded", tasks, [("Task A", "Task B")]))
    reason = task(run, "Task B").reason or ""
    assert "'accuracy'" in reason
    assert "no instance of 'Task A' recorded" in reason


@pytest.mark.parametrize("name", ["human_validation.yaml", "params.yaml", "data_task.yaml"])
def test_the_seeds_yaml_examples_import_unchanged(client: Client, name: str) -> None:
    flow = client.flows.import_yaml((SEED / name).read_text())
    assert flow.name.startswith("Seed ")


def test_the_seeds_params_example_runs_its_grid(client: Client, live: Live) -> None:
    folder = live.tmp / "seed-params"
    folder.mkdir(exist_ok=True)
    (folder / "train.py").write_text("import sys\nprint('argv', sys.argv[1:])\n")
    push_folder(client.files.repo(), folder, message="train.py")
    run = run_flow(client, (SEED / "params.yaml").read_text())
    assert run.status == "success", run.model_dump_json(indent=1)
    grid = sorted(
        (i.params["epochs"], i.params["batch_size"]) for i in task(run, "Train").instances
    )
    assert grid == sorted((e, b) for e in ("3", "5", "12") for b in ("128", "256"))
    assert {i.params["data"] for i in task(run, "Train").instances} == {"data.csv"}

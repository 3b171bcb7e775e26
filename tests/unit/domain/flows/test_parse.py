"""Reading flow files: the seed's own examples, every key of its tables, and export."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from headwater.domain.flowspec import (
    DataTask,
    DeployTask,
    ExecTask,
    FlowSpecError,
    Objective,
    parse_flow,
    parse_flow_with_map,
    to_yaml,
)
from headwater.domain.flowspec.model import KEYS, TASK_CLASSES
from headwater.domain.grid import ParamAxis
from headwater.domain.schedule import Recurring

from .helpers import fixture, line_of


def test_the_seed_data_task_example_reads_verbatim() -> None:
    text = "flow: Seed\ntasks:\n" + fixture("seed_data_task.yaml") + "relations: []\n"
    flow = parse_flow(text)
    (task,) = flow.tasks
    assert task == DataTask(
        title="Dataset", type="data", dataset="my_dataset", top=1, left=1, description=None
    )
    assert task.data_commit is None
    assert task.data_query is None
    assert not task.use_cached


def test_the_seed_params_and_conditions_examples_read_verbatim() -> None:
    text = (
        "flow: Seed\ntasks:\n- title: Task A\n  type: exec\n  input: python3 train.py\n"
        "  computes:\n  - medium\n"
        + fixture("seed_params.yaml")
        + fixture("seed_conditions.yaml")
        + "relations:\n"
    )
    task = parse_flow(text).tasks[0]
    assert isinstance(task, ExecTask)
    assert task.command == "python3 train.py"
    assert task.params == (
        ParamAxis("data", ("data.csv",)),
        ParamAxis("epochs", ("3", "5", "12")),
        ParamAxis("batch_size", ("128", "256")),
    )
    (cond,) = task.conditions
    assert cond.objective is Objective.HUMAN_VALIDATION
    assert task.approvers == ("Leah", "Yochay")
    assert task.tests == ()


def test_the_seed_skeleton_is_a_placeholder_and_says_where() -> None:
    with pytest.raises(FlowSpecError) as caught:
        parse_flow(fixture("seed_skeleton.yaml"), source="skeleton.yaml")
    wheres = caught.value.wheres()
    assert "skeleton.yaml:3 tasks[0]" in wheres  # "task 1 . . ." is no task
    assert "skeleton.yaml:9 relations[0].from" in wheres  # from: left blank


def test_every_key_of_the_seed_tables() -> None:
    text = fixture("every_key.yaml")
    flow, smap = parse_flow_with_map(text, source="every_key.yaml")
    assert flow.title == "Churn pipeline"
    assert flow.schedule == "31.01.2021 4:25PM"
    assert flow.recurring is None
    data, prep, train, deploy = flow.tasks
    assert isinstance(data, DataTask)
    assert (data.dataset, data.data_commit, data.use_cached) == ("churn", "0123abc", True)
    assert (data.description, data.top, data.left) == ("the raw table", 10, 20)
    assert isinstance(prep, ExecTask)
    assert prep.title == "Processing the Data"
    assert prep.description == "cleans: nulls, outliers"
    assert prep.computes == ("small", "medium")
    assert prep.params == (
        ParamAxis("frac", ("0.10", "0.5")),  # as written: CSV split, not re-spelled
        ParamAxis("seed", ("1", "2", "3")),
        ParamAxis("mode", ("fast", "slow")),
    )
    assert (prep.git_branch, prep.git_commit) == ("main", "1e5")  # not the float 100000.0
    assert prep.mount_folders == ("10.0.0.5:/datasets",)
    assert (prep.periodic_sync, prep.restart_if_stuck, prep.prerun, prep.requirements) == (
        False,
        True,
        False,
        False,
    )
    assert (prep.notify_on_error, prep.notify_on_success) == (True, True)
    assert prep.emails == ("ann@example.com", "bob@example.com")
    assert (prep.output_dir, prep.top, prep.single_mode) == ("out", 100, False)
    assert (prep.model, prep.model_path) == ("churn-model", "out/model.pkl")
    assert isinstance(train, ExecTask)
    assert train.single_mode
    assert train.approvers == ("leah", "yochay")
    assert isinstance(deploy, DeployTask)
    assert deploy.endpoint_title == "churn-model-2"
    assert deploy.endpoint_id is None
    assert [c.objective for c in deploy.conditions] == [
        Objective.GT,
        Objective.MAX,
        Objective.HUMAN_VALIDATION,
    ]
    assert deploy.conditions[0].target == 0.9
    assert deploy.conditions[0].task == "Train"
    assert deploy.approvers == ("Leah", "Yochay")
    assert (deploy.env_setup, deploy.min_replica, deploy.max_replica) == ("r_endpoint", 1, 3)
    assert deploy.config_vars == ("WORKERS=2", "DEBUG=false")
    assert deploy.accept_files
    assert deploy.git_branch == "release"
    assert [(r.source, r.to) for r in flow.relations] == [
        ("Dataset", "Processing the Data"),
        ("Processing the Data", "Train"),
        ("Train", "Deploy"),
    ]
    line = line_of(text, "endpoint_title:")
    assert (
        smap.where(("tasks", 3, "endpoint_title"))
        == f"every_key.yaml:{line} tasks[3].endpoint_title"
    )


def test_defaults_follow_the_seed_and_the_experiment_options() -> None:
    flow = parse_flow(
        "flow: F\ntasks:\n- {title: T, type: exec, input: go, computes: c}\nrelations:\n"
    )
    task = flow.tasks[0]
    assert isinstance(task, ExecTask)
    assert task.computes == ("c",)
    assert (task.prerun, task.requirements, task.restart_if_stuck) == (True, True, False)
    assert task.notify_on_error is None
    assert task.periodic_sync is None
    assert task.params == ()
    assert task.conditions == ()
    assert not task.single_mode
    assert flow.relations == ()


def test_recurring_with_a_time_zone_is_kept_as_written() -> None:
    flow = parse_flow(
        'flow: F\nrecurring: "0 0 * * 1 Asia/Jerusalem"\ntasks:\n'
        "- {title: T, type: exec, input: go, computes: [c]}\nrelations: []\n"
    )
    assert flow.recurring == "0 0 * * 1 Asia/Jerusalem"


def test_every_fixture_exports_and_reads_back_equal() -> None:
    flow = parse_flow(fixture("every_key.yaml"))
    text = to_yaml(flow)
    assert parse_flow(text) == flow
    assert text.startswith("flow: Churn pipeline\nschedule:")
    assert "title: Dataset\n  type: data\n  description: the raw table\n  dataset: churn" in text


def test_export_keeps_a_comma_value_whole() -> None:
    flow = parse_flow(
        "flow: F\ntasks:\n- title: T\n  type: exec\n  input: go\n  computes: [c]\n"
        "  params:\n  - key: k\n    value: ['a,b']\nrelations: []\n"
    )
    assert flow.tasks[0].params == (ParamAxis("k", ("a,b",)),)  # type: ignore[union-attr]
    assert parse_flow(to_yaml(flow)) == flow


def test_key_orders_cover_exactly_each_models_keys() -> None:
    for kind, cls in TASK_CLASSES.items():
        assert set(KEYS[kind]) == {f.alias or n for n, f in cls.model_fields.items()}


def test_the_graph_follows_the_relations() -> None:
    flow = parse_flow(fixture("every_key.yaml"))
    assert flow.graph.order() == ("Dataset", "Processing the Data", "Train", "Deploy")
    assert flow.graph.parents("Deploy") == ("Train",)
    assert flow.task("Train").title == "Train"
    with pytest.raises(KeyError):
        flow.task("nope")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.1,0.01", ("0.1", "0.01")),
        ('" a , b "', ("a", "b")),
        ("[1, 2.50, 1e-3]", ("1", "2.50", "1e-3")),
        ("'{{ A.x | hyper }}'", ("{{ A.x | hyper }}",)),
    ],
)
def test_param_values_as_written(value: str, expected: tuple[str, ...]) -> None:
    text = (
        "flow: F\ntasks:\n- {title: A, type: exec, input: go, computes: [c]}\n"
        "- title: B\n  type: exec\n  input: go\n  computes: [c]\n  params:\n"
        f"  - key: k\n    value: {value}\nrelations:\n- from: A\n  to: B\n"
    )
    task = parse_flow(text).tasks[1]
    assert isinstance(task, ExecTask)
    assert task.params[0].values == expected


def test_a_deploy_task_may_update_an_existing_endpoint() -> None:
    text = (
        "flow: F\ntasks:\n- title: D\n  type: deploy\n  endpoint_id: churn-1\n"
        "  computes: [c]\n  file_name: p.py\n  function_name: f\n  min_replica: 1\n"
        "  max_replica: 1\nrelations: []\n"
    )
    task = parse_flow(text).tasks[0]
    assert isinstance(task, DeployTask)
    assert task.endpoint_id == "churn-1"
    assert task.env_setup == "python_3"


def test_a_flow_knows_its_schedule_and_approvals() -> None:
    flow = parse_flow(fixture("every_key.yaml"))
    assert flow.scheduled_at(UTC) == datetime(2021, 1, 31, 16, 25, tzinfo=UTC)
    assert flow.recurring_rule() is None
    train = flow.task("Train")
    assert isinstance(train, ExecTask)
    assert train.needs_approval
    assert not isinstance(flow.task("Processing the Data"), DataTask)
    weekly = parse_flow(
        'flow: F\nrecurring: "0 0 * * 1 Asia/Jerusalem"\ntasks:\n'
        "- {title: T, type: exec, input: go, computes: [c]}\nrelations: []\n"
    )
    assert weekly.recurring_rule() == Recurring("0 0 * * 1", "Asia/Jerusalem")
    assert weekly.scheduled_at(UTC) is None

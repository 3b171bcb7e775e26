"""Each validation error names the file, the line and the key, and says how to fix it."""

from __future__ import annotations

import pytest

from headwater.domain.errors import InvalidInput
from headwater.domain.flowspec import FlowSpecError, parse_flow

from .helpers import line_of

BASE = """\
flow: Errors
tasks:
  - title: A
    type: exec
    input: python3 a.py
    computes: [small]
  - title: B
    type: exec
    input: python3 b.py
    computes: [small]
relations:
  - from: A
    to: B
"""
DEPLOY = """\
  - title: D
    type: deploy
    endpoint_title: churn-model
    computes: [small]
    file_name: predict.py
    function_name: predict
    min_replica: 1
    max_replica: 2
"""


def _fails(text: str) -> FlowSpecError:
    with pytest.raises(FlowSpecError) as caught:
        parse_flow(text, source="f.yaml")
    err = caught.value
    assert isinstance(err, InvalidInput)
    assert err.hint  # every error says how to fix it
    return err


def _only(text: str) -> FlowSpecError:
    err = _fails(text)
    assert len(err.problems) == 1, err.detail
    return err


def _with_deploy(**replace: str) -> str:
    task = DEPLOY
    for old, new in replace.items():
        task = task.replace(old, new)
    return BASE.replace("relations:", task + "relations:")


def test_the_base_file_is_valid() -> None:
    assert len(parse_flow(BASE).tasks) == 2
    assert len(parse_flow(_with_deploy()).tasks) == 3


def test_unknown_key() -> None:
    text = BASE.replace(
        "    computes: [small]\n  - title: B",
        "    colour: red\n    computes: [small]\n  - title: B",
    )
    err = _only(text)
    assert err.where == f"f.yaml:{line_of(text, 'colour')} tasks[0].colour"
    assert "unknown key 'colour'" in err.detail
    assert "input" in (err.hint or "")


def test_unknown_key_suggests_the_close_one() -> None:
    text = BASE.replace("computes: [small]\n  - title: B", "compute: [small]\n  - title: B")
    err = _fails(text)
    assert f"f.yaml:{line_of(text, 'compute:')} tasks[0].compute" in err.wheres()
    assert "Did you mean 'computes'?" in err.detail


def test_command_goes_in_input() -> None:
    text = BASE.replace("input: python3 a.py", "command: python3 a.py")
    err = _fails(text)
    assert f"f.yaml:{line_of(text, 'command')} tasks[0].command" in err.wheres()
    assert "'input:'" in err.detail


def test_unknown_top_level_key() -> None:
    text = BASE + "colour: red\n"
    err = _only(text)
    assert err.where == f"f.yaml:{line_of(text, 'colour')} colour"


def test_missing_required_key_in_a_task() -> None:
    text = BASE.replace("    computes: [small]\n  - title: B", "  - title: B")
    err = _only(text)
    assert err.where == "f.yaml:3 tasks[0].computes"  # the task's first line
    assert "missing required key 'computes'" in err.detail


def test_missing_required_key_at_the_top() -> None:
    text = BASE.split("relations:")[0]
    err = _only(text)
    assert err.where == "f.yaml:1 relations"
    assert "relations: []" in (err.hint or "")


def test_missing_type() -> None:
    text = BASE.replace("    type: exec\n    input: python3 b.py", "    input: python3 b.py")
    err = _only(text)
    assert err.where == f"f.yaml:{line_of(text, 'title: B')} tasks[1].type"


def test_unknown_type() -> None:
    text = BASE.replace("type: exec\n    input: python3 b.py", "type: train\n    input: x")
    err = _only(text)
    assert err.where == f"f.yaml:{line_of(text, 'type: train')} tasks[1].type"


def test_relation_to_a_task_that_does_not_exist() -> None:
    text = BASE.replace("    to: B", "    to: b")
    err = _only(text)
    assert err.where == f"f.yaml:{line_of(text, 'to: b')} relations[0].to"
    assert "'b'" in err.detail
    assert "Did you mean 'B'?" in (err.hint or "")


def test_a_cycle_names_its_tasks() -> None:
    text = BASE.replace(
        "relations:",
        "  - title: C\n    type: exec\n    input: c\n    computes: [small]\nrelations:",
    )
    text += "  - from: B\n    to: C\n  - from: C\n    to: A\n"
    err = _only(text)
    assert err.where == f"f.yaml:{line_of(text, 'from: C')} relations[2]"
    assert "A -> B -> C -> A" in err.detail


def test_a_task_after_itself_is_a_cycle() -> None:
    text = BASE + "  - from: B\n    to: B\n"
    err = _only(text)
    assert "B -> B" in err.detail
    assert err.where.endswith("relations[1]")


def test_schedule_with_recurring() -> None:
    text = 'schedule: 31.01.2021 16:25\nrecurring: "30 * * * *"\n' + BASE
    err = _only(text)
    assert err.where == "f.yaml:2 recurring"
    assert "cannot be used together" in err.detail


@pytest.mark.parametrize(
    "value",
    [
        "2021-01-31 16:25",
        "31/01/2021 16:25",
        "31.01.2021 4:25 PM",
        "31.01.21 16:25",
        "tomorrow",
        "31.01.2021",
        "2021.31.01 16:25",
        "31.01.2021 25:00",
    ],
)
def test_schedule_outside_the_four_formats(value: str) -> None:
    text = BASE + f"schedule: '{value}'\n"
    err = _only(text)
    assert err.where == f"f.yaml:{line_of(text, 'schedule')} schedule"
    assert "31.01.2021 4:25PM" in (err.hint or "")


@pytest.mark.parametrize(
    "value",
    ["61 * * * *", "* * *", "0 0 * * 1 Mars/Olympus", "0 0 * * * * *", "every day", "@often"],
)
def test_bad_cron_line(value: str) -> None:
    text = f'flow: Errors\nrecurring: "{value}"\n' + BASE.split("\n", 1)[1]
    err = _only(text)
    assert err.where == "f.yaml:2 recurring"


def test_endpoint_title_with_other_characters() -> None:
    text = _with_deploy(**{"endpoint_title: churn-model": "endpoint_title: churn model_2"})
    err = _only(text)
    assert err.where == f"f.yaml:{line_of(text, 'endpoint_title')} tasks[2].endpoint_title"
    assert "letters, digits and hyphens" in err.detail


def test_endpoint_title_with_endpoint_id() -> None:
    text = _with_deploy(
        **{
            "    computes: [small]\n    file_name": "    endpoint_id: churn-1\n"
            "    computes: [small]\n    file_name"
        }
    )
    err = _only(text)
    assert err.where == f"f.yaml:{line_of(text, 'endpoint_id')} tasks[2].endpoint_id"


def test_neither_endpoint_title_nor_id() -> None:
    text = _with_deploy(**{"    endpoint_title: churn-model\n": ""})
    err = _only(text)
    assert err.where == f"f.yaml:{line_of(text, 'title: D')} tasks[2].endpoint_title"


def test_fewer_max_than_min_replicas() -> None:
    text = _with_deploy(**{"max_replica: 2": "max_replica: 0"})
    err = _only(text)
    assert err.where == f"f.yaml:{line_of(text, 'max_replica')} tasks[2].max_replica"


def _condition(*lines: str) -> str:
    block = "    conditions:\n      - " + "\n        ".join(lines) + "\n"
    return BASE.replace("relations:", DEPLOY + block + "relations:") + "  - from: B\n    to: D\n"


@pytest.mark.parametrize(
    ("lines", "key"),
    [
        (("objective: gt", "tag_key: acc"), "target"),
        (("objective: lt", "target: 0.5"), "tag_key"),
        (("objective: eq", "tag_key: acc", "target: 1", "value: ann"), "value"),
        (("objective: max", "tag_key: acc", "target: 0.5"), "target"),
        (("objective: min",), "tag_key"),
        (("objective: human_validation",), "value"),
        (("objective: human_validation", "value: ann", "tag_key: acc"), "tag_key"),
        (("objective: human_validation", "value: ann", "task: B"), "task"),
    ],
)
def test_condition_fields_that_do_not_fit_the_objective(lines: tuple[str, ...], key: str) -> None:
    text = _condition(*lines)
    err = _only(text)
    where = f"tasks[2].conditions[0].{key}"
    line = (
        line_of(text, f"{key}:")
        if any(ln.startswith(key) for ln in lines)
        else line_of(text, "objective:")
    )
    assert err.where == f"f.yaml:{line} {where}"
    assert lines[0].split(": ")[1] in err.detail


def test_condition_on_a_task_that_is_not_a_parent() -> None:
    text = _condition("objective: max", "tag_key: acc", "task: A")
    err = _only(text)
    assert err.where == f"f.yaml:{line_of(text, 'task: A')} tasks[2].conditions[0].task"


def test_unknown_objective() -> None:
    text = _condition("objective: best", "tag_key: acc")
    err = _only(text)
    assert err.where == f"f.yaml:{line_of(text, 'objective')} tasks[2].conditions[0].objective"


def test_yaml_syntax_error_names_the_line() -> None:
    text = "flow: F\nrecurring: * * * * *\n" + BASE.split("\n", 1)[1]
    err = _only(text)
    assert err.where is not None
    assert err.where.startswith("f.yaml:2 ")
    assert "Quote" in (err.hint or "")


def test_a_key_given_twice() -> None:
    text = BASE.replace("    input: python3 b.py", "    input: python3 b.py\n    input: again")
    err = _only(text)
    assert err.where == f"f.yaml:{line_of(text, 'input: again')} tasks[1].input"
    assert "line 9" in err.detail


def test_two_tasks_with_one_title() -> None:
    text = BASE.replace("title: B", "title: A")
    err = _fails(text)
    assert f"f.yaml:{line_of(text, 'title: A', 2)} tasks[1].title" in err.wheres()


def test_titles_that_give_one_folder() -> None:
    text = BASE.replace("title: B", "title: a!").replace("to: B", "to: a!")
    err = _only(text)
    assert "input/a/" in err.detail


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ("{key: lr, vaule: 1}", "params[0].vaule"),
        ("{key: lr}", "params[0].key"),
        ('{key: "l\\tr", value: 1}', "params[0]"),
        ("{key: lr, value: '1,,2'}", "params[0].value"),
        ("{key: lr, value: {a: 1}}", "params[0].value"),
        ("{key: n, type: integer, values: [1, x]}", "params[0]"),
    ],
)
def test_bad_params_entry(entry: str, key: str) -> None:
    text = BASE.replace("input: python3 b.py", f"input: python3 b.py\n    params:\n    - {entry}")
    err = _only(text)
    assert err.where == f"f.yaml:{line_of(text, entry)} tasks[1].{key}"


def test_a_parameter_given_twice() -> None:
    text = BASE.replace(
        "input: python3 b.py",
        "input: b\n    params:\n    - {key: lr, value: 1}\n    - {key: lr, value: 2}",
    )
    err = _only(text)
    assert err.where == f"f.yaml:{line_of(text, 'value: 2')} tasks[1].params[1].key"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("{{ Z.acc }}", "not a task before this one"),
        ("{{ B.acc }}", "not a task before this one"),
        ("{{ A.acc | best }}", "unknown filter"),
        ("x{{ A.acc | hyper }}", "only value"),
        ("{{ A. }}", "names no tag"),
    ],
)
def test_bad_tag_reference(value: str, says: str) -> None:
    text = BASE.replace(
        "input: python3 b.py", f"input: b\n    params:\n    - key: lr\n      value: '{value}'"
    )
    err = _only(text)
    assert err.where == f"f.yaml:{line_of(text, 'value:')} tasks[1].params[0].value"
    assert says in err.detail


def test_data_commit_with_data_query() -> None:
    text = BASE.replace(
        "relations:",
        "  - {title: Data, type: data, dataset: d, data_commit: c1, data_query: q}\nrelations:",
    )
    err = _only(text)
    assert err.where == f"f.yaml:{line_of(text, 'data_query')} tasks[2].data_query"


def test_a_mount_that_is_not_ip_and_folder() -> None:
    text = BASE.replace("input: python3 b.py", "input: b\n    mount_folders: [datasets]")
    err = _only(text)
    assert err.where == f"f.yaml:{line_of(text, 'mount_folders')} tasks[1].mount_folders[0]"


def test_a_model_name_that_is_not_one() -> None:
    text = BASE.replace("input: python3 b.py", "input: b\n    model: churn model!")
    err = _only(text)
    assert err.where == f"f.yaml:{line_of(text, 'model:')} tasks[1].model"
    assert "is not a model name" in err.detail


@pytest.mark.parametrize(
    ("lines", "says"),
    [
        ("model_path: output/model.pkl", "but no model"),
        ("model: m\n    output_dir: out\n    model_path: output/model.pkl", "not inside"),
        ("model: m\n    model_path: ../model.pkl", ".."),
    ],
)
def test_a_model_path_without_a_model_or_outside_the_outputs(lines: str, says: str) -> None:
    text = BASE.replace("input: python3 b.py", "input: b\n    " + lines)
    err = _only(text)
    assert err.where == f"f.yaml:{line_of(text, 'model_path')} tasks[1].model_path"
    assert says in err.detail


def test_wrong_value_types_name_the_key() -> None:
    text = BASE.replace("input: python3 b.py", "input: b\n    prerun: maybe\n    top: left")
    err = _fails(text)
    assert err.wheres() == [
        f"f.yaml:{line_of(text, 'prerun')} tasks[1].prerun",
        f"f.yaml:{line_of(text, 'top: left')} tasks[1].top",
    ]


def test_all_problems_come_at_once_in_file_order() -> None:
    text = BASE.replace("    to: B", "    to: Bee") + "colour: red\n"
    text = text.replace("computes: [small]\n  - title: B", "computes: []\n  - title: B")
    err = _fails(text)
    # the shape pass stops the parse before the cross-task checks
    assert err.wheres() == [
        f"f.yaml:{line_of(text, 'computes: []')} tasks[0].computes",
        f"f.yaml:{line_of(text, 'colour')} colour",
    ]
    assert err.detail.startswith("2 problems in f.yaml:")
    assert f"- f.yaml:{line_of(text, 'colour')} colour: unknown key" in err.detail


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just text\n"])
def test_a_file_that_is_not_a_mapping(text: str) -> None:
    err = _only(text)
    assert err.where == "f.yaml:1 (top level)"


def test_empty_task_list() -> None:
    err = _only("flow: F\ntasks: []\nrelations: []\n")
    assert err.where == "f.yaml:2 tasks"


def test_a_grid_over_the_limit() -> None:
    values = ", ".join(str(i) for i in range(101))
    text = BASE.replace(
        "input: python3 b.py",
        f"input: b\n    params:\n    - key: x\n      value: [{values}]\n"
        f"    - key: y\n      value: [{values}]",
    )
    err = _only(text)
    assert err.where == f"f.yaml:{line_of(text, 'params:')} tasks[1].params"
    assert "10,201 combinations" in err.detail


def test_a_broken_only_task_is_not_also_called_an_empty_list() -> None:
    text = "flow: One\ntasks:\n  - title: A\n    type: exec\n    inptu: echo\n" \
        "    computes: [small]\nrelations: []\n"  # fmt: skip
    err = _fails(text)
    assert "is empty" not in err.detail
    assert f"f.yaml:{line_of(text, 'inptu')} tasks[0].inptu" in err.wheres()
    assert "f.yaml:3 tasks[0].input" in err.wheres()  # the command is missing, too


def test_no_tasks_at_all_is_an_empty_list() -> None:
    err = _only("flow: None\ntasks: []\nrelations: []\n")
    assert err.where == "f.yaml:2 tasks"
    assert "tasks is empty" in err.detail


def _grid(title: str, size: int, extra: str = "") -> str:
    values = ", ".join(str(i) for i in range(size))
    return (
        f"  - title: {title}\n    type: exec\n    input: run\n    computes: [small]\n{extra}"
        f"    params:\n    - key: x\n      value: [{values}]\n"
    )


def test_grids_that_multiply_past_the_limit_along_a_route_are_refused_at_import() -> None:
    """101 values, then 100 after them: 10,100 instances of the second task. Each grid alone
    fits, so the run used to start, run the first task and fail the second."""
    text = (
        "flow: Big\ntasks:\n" + _grid("Sweep", 101) + _grid("Train", 100) + _grid("Report", 1)
        + "relations:\n  - from: Sweep\n    to: Train\n  - from: Train\n    to: Report\n"
    )  # fmt: skip
    err = _only(text)  # Train is named; Report, after it, not again
    assert err.where == f"f.yaml:{line_of(text, 'params:', 2)} tasks[1].params"
    assert "task 'Train' would run 10,100 instances, over the limit of 10,000" in err.detail
    assert "101 (Sweep) x 100 (Train)" in err.detail
    assert "single_mode" in (err.hint or "")


def test_routes_that_may_shrink_or_restart_are_left_to_the_run() -> None:
    """A condition may keep one parent instance and single mode starts a route afresh: those
    are not certain to exceed, so the import takes them; a diamond counts a shared task once."""
    edges = "relations:\n  - from: Sweep\n    to: Train\n"
    single = _grid("Train", 100, "    single_mode: true\n")
    parse_flow("flow: S\ntasks:\n" + _grid("Sweep", 101) + single + edges, source="f.yaml")
    kept = "    conditions:\n      - objective: max\n        tag_key: acc\n"
    parse_flow(
        "flow: C\ntasks:\n" + _grid("Sweep", 101) + _grid("Train", 100, kept) + edges,
        source="f.yaml",
    )
    diamond = (
        "flow: D\ntasks:\n" + _grid("A", 100) + _grid("B", 10) + _grid("C", 10) + _grid("D", 1)
        + "relations:\n  - from: A\n    to: B\n  - from: A\n    to: C\n"
        "  - from: B\n    to: D\n  - from: C\n    to: D\n"
    )  # fmt: skip
    parse_flow(diamond, source="f.yaml")  # 100 x 10 x 10 = 10,000: at the limit, not over
    err = _only(
        diamond.replace("[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]", "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", 1)
    )
    assert "task 'D' would run 11,000 instances" in err.detail


def test_unquoted_braces_say_to_quote_the_value_at_its_line() -> None:
    """The seed writes ``{ { Task.tag } }``; unquoted, YAML reads a mapping whose key is a
    mapping, and the error said only "a key is a list or a mapping"."""
    text = BASE.replace(
        "input: python3 b.py",
        "input: python3 b.py\n    params:\n    - key: x\n      value: { { A.acc } }",
    )
    err = _only(text)
    assert err.where == f"f.yaml:{line_of(text, '{ { A.acc } }')} tasks[1].params[0].value"
    assert "{ { A.acc } }" in err.detail
    assert 'Quote the value: value: "{ { A.acc } }"' in (err.hint or "")
    quoted = text.replace("value: { { A.acc } }", 'value: "{ { A.acc } }"')
    assert parse_flow(quoted, source="f.yaml").task("B").params[0].values == ("{ { A.acc } }",)


def test_an_unquoted_reference_in_input_names_the_input_key() -> None:
    text = BASE.replace("input: python3 b.py", "input: {{ A.acc }}")
    err = _only(text)
    assert err.where == f"f.yaml:{line_of(text, '{{ A.acc }}')} tasks[1].input"
    assert 'Quote the value: input: "{{ A.acc }}"' in (err.hint or "")

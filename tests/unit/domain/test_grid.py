"""Parameters and grid search (seed 002): ``--param``, cnvrg's grid file, combinations."""

from __future__ import annotations

import math
import shlex
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.errors import InvalidInput
from headwater.domain.grid import (
    MAX_AXIS,
    ParamAxis,
    axis_from_entry,
    combinations,
    command_with_params,
    parse_grid_file,
    parse_param_option,
    tag_env,
)

KEYS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,15}", fullmatch=True)
VALUES = st.text(st.characters(codec="utf-8", exclude_characters=","), min_size=1).filter(
    lambda v: v.strip() != ""
)


def grid(body: str) -> list[ParamAxis]:
    return parse_grid_file(textwrap.dedent(body), source="grid.yaml")


def grid_error(body: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        grid(body)
    return info.value


# -- --param -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("lr=0.1,0.01", ("0.1", "0.01")),
        ("lr = 0.1 , 0.01 ", ("0.1", "0.01")),
        ("data=data.csv", ("data.csv",)),
        ("i=1..5", ("1", "2", "3", "4", "5")),
        ("i=0..10..2", ("0", "2", "4", "6", "8", "10")),
        ("i=0..9..2", ("0", "2", "4", "6", "8")),  # the step need not land on the end
        ("i=-2..1", ("-2", "-1", "0", "1")),
        ("i=3..3", ("3",)),
        ("path=../data", ("../data",)),
        ("expr=a=b", ("a=b",)),  # only the first '=' separates the key
    ],
)
def test_param_option_forms(text: str, values: tuple[str, ...]) -> None:
    assert parse_param_option(text).values == values


def test_a_range_of_a_hundred_is_inclusive() -> None:
    axis = parse_param_option("i=1..100")
    assert axis == ParamAxis("i", tuple(str(i) for i in range(1, 101)))


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("lr", "has no '='"),
        ("=1,2", "not a usable parameter name"),
        (" =1", "not a usable parameter name"),
        ("a\tb=1", "not a usable parameter name"),
        ("lr=", "empty value"),
        ("lr=0.1,,0.2", "empty value"),
        ("lr=0.1, ", "empty value"),
        ("i=5..1", "is empty"),
        ("i=1..10..0", "is empty"),
        ("i=10..0..-2", "is empty"),
        ("i=0.1..0.5", "whole numbers"),
        (f"i=1..{MAX_AXIS + 1}", "over the limit"),
        ("i=1..10000000000000", "over the limit"),
    ],
)
def test_bad_param_options_say_where_and_show_the_right_form(text: str, detail: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_param_option(text, where="params[2]")
    assert detail in info.value.detail
    assert info.value.where == "params[2]"
    assert info.value.hint is not None
    assert "--param" in info.value.hint


@given(st.integers(-50, 50), st.integers(0, 60), st.integers(1, 7))
def test_a_range_is_pythons_inclusive_range(start: int, span: int, step: int) -> None:
    axis = parse_param_option(f"n={start}..{start + span}..{step}")
    assert axis.values == tuple(str(i) for i in range(start, start + span + 1, step))


@given(KEYS, st.lists(VALUES.filter(lambda v: ".." not in v), min_size=1, max_size=5))
def test_listed_values_come_back_stripped_and_in_order(key: str, values: list[str]) -> None:
    axis = parse_param_option(f"{key}={','.join(values)}")
    assert axis == ParamAxis(key, tuple(v.strip() for v in values))


# -- the grid file -------------------------------------------------------------------------------


def test_every_form_of_cnvrg_grid_file() -> None:
    axes = grid(
        """
        parameters:
          - key: learning_rate
            type: discrete
            values: [0.1, 0.01, 0.001]
          - key: kernel
            type: categorical
            values: ["linear", "rbf"]
          - key: epochs
            type: integer
            min: 10
            max: 100
            steps: 4
            scale: linear
          - key: fractions
            type: float
            min: 0.001
            max: 0.1
            steps: 3
            scale: log2
        """
    )
    assert axes == [
        ParamAxis("learning_rate", ("0.1", "0.01", "0.001")),
        ParamAxis("kernel", ("linear", "rbf")),
        ParamAxis("epochs", ("10", "40", "70", "100")),
        ParamAxis("fractions", ("0.001", "0.01", "0.1")),
    ]


@pytest.mark.parametrize(
    ("entry", "values"),
    [
        # numbers in short form: 0.1, not 0.09999999999999999
        ("{key: f, type: float, min: 0, max: 0.3, steps: 4}", ("0", "0.1", "0.2", "0.3")),
        ("{key: f, type: float, min: 1, max: 3, steps: 3}", ("1", "2", "3")),
        ("{key: f, type: float, min: 0.5, max: 0.5, steps: 3}", ("0.5",)),
        ("{key: f, type: float, min: 2, max: 4, steps: 1}", ("2",)),
        ("{key: f, type: discrete, min: 1, max: 2, steps: 3}", ("1", "1.5", "2")),
        ("{key: f, type: float, min: 1e-4, max: 1, steps: 5, scale: log10}", None),
        # integer type rounds half up and drops repeats
        ("{key: n, type: integer, min: 1, max: 3, steps: 5}", ("1", "2", "3")),
        (
            "{key: n, type: integer, min: 1, max: 1000, steps: 4, scale: log}",
            ("1", "10", "100", "1000"),
        ),
        ("{key: n, type: integer, min: 0, max: 1, steps: 3}", ("0", "1")),
        ("{key: n, type: integer, values: [3, '+5', ' 8']}", ("3", "5", "8")),
        ("{key: n, type: integer, min: '1', max: '3', steps: '3'}", ("1", "2", "3")),
    ],
)
def test_spaced_and_listed_values(entry: str, values: tuple[str, ...] | None) -> None:
    (axis,) = grid(f"parameters:\n  - {entry}\n")
    if values is None:  # 1e-4 reads as text in YAML 1.1; it still counts as a number
        assert axis.values == ("0.0001", "0.001", "0.01", "0.1", "1")
    else:
        assert axis.values == values


def test_listed_values_stay_as_written() -> None:
    (axis,) = grid("parameters:\n  - {key: x, values: [yes, 0.10, 1e-3, '007', off]}\n")
    assert axis.values == ("yes", "0.10", "1e-3", "007", "off")


def test_type_defaults_to_discrete_and_scale_to_linear() -> None:
    (axis,) = grid("parameters:\n  - {key: x, min: 0, max: 1, steps: 3}\n")
    assert axis.values == ("0", "0.5", "1")


def test_an_empty_parameter_list_is_one_run_without_parameters() -> None:
    assert grid("parameters: []\n") == []
    assert combinations(grid("parameters: []\n")) == [{}]


@given(
    st.floats(1e-6, 1e3),
    st.floats(1.0, 1e3),
    st.integers(2, 40),
    st.sampled_from(["linear", "log", "log2", "log10"]),
)
def test_spaced_values_run_from_min_to_max_in_order(
    low: float, factor: float, steps: int, scale: str
) -> None:
    high = low * factor
    axis = axis_from_entry(
        {"key": "x", "type": "float", "min": low, "max": high, "steps": steps, "scale": scale},
        where="x",
    )
    numbers = [float(v) for v in axis.values]
    assert 1 <= len(numbers) <= steps
    assert numbers == sorted(numbers)
    assert math.isclose(numbers[0], low, rel_tol=1e-9)
    assert math.isclose(numbers[-1], high, rel_tol=1e-9)
    assert all(len(v) <= 20 for v in axis.values)  # short forms, never float noise


@given(st.integers(-1000, 1000), st.integers(0, 1000), st.integers(1, 60))
def test_integer_steps_are_distinct_whole_numbers_within_bounds(
    low: int, span: int, steps: int
) -> None:
    entry = {"key": "n", "type": "integer", "min": low, "max": low + span, "steps": steps}
    numbers = [int(v) for v in axis_from_entry(entry, where="n").values]
    assert numbers == sorted(set(numbers))
    assert numbers[0] == low
    assert numbers[-1] == (low + span if steps > 1 else low)


@pytest.mark.parametrize(
    ("entry", "detail"),
    [
        ("{key: x, type: float, values: [1], colour: red}", "unknown field(s) colour"),
        ("{type: float, values: [1]}", "has no key"),
        ("{key: '', values: [1]}", "has no key"),
        ('{key: "a\\tb", values: [1]}', "not a usable parameter name"),
        ("{key: x, type: number, values: [1]}", "unknown type 'number'"),
        ("{key: x, type: float}", "no values given"),
        ("{key: x, type: categorical, min: 1, max: 2, steps: 2}", "no values given"),
        ("{key: x, values: [1, 2], min: 1}", "not both"),
        ("{key: x, values: []}", "non-empty list"),
        ("{key: x, values: 3}", "non-empty list"),
        ("{key: x, values: [1, ~]}", "empty value"),
        ("{key: x, values: [1, [2]]}", "not a number or a word"),
        ("{key: x, type: integer, values: [1, 2.5]}", "not a whole number"),
        ("{key: x, type: float, values: [1, abc]}", "not a number"),
        ("{key: x, min: 3, max: 1, steps: 2}", "min 3 is over max 1"),
        ("{key: x, min: 1, max: 3, steps: 0}", "steps must be"),
        ("{key: x, min: 1, max: 3, steps: 2.5}", "steps must be"),
        ("{key: x, min: 1, max: 3}", "steps must be"),
        (f"{{key: x, min: 1, max: 3, steps: {MAX_AXIS + 1}}}", "steps must be"),
        ("{key: x, max: 3, steps: 2}", "min must be a finite number"),
        ("{key: x, min: abc, max: 3, steps: 2}", "min must be a finite number"),
        ("{key: x, min: 1, max: .inf, steps: 2}", "max must be a finite number"),
        ("{key: x, min: true, max: 3, steps: 2}", "min must be a finite number"),
        ("{key: x, min: 0, max: 3, steps: 2, scale: log}", "needs min > 0"),
        ("{key: x, min: 1, max: 3, steps: 2, scale: ln}", "unknown scale 'ln'"),
        ("just-a-word", "not a mapping"),
    ],
)
def test_bad_entries_name_the_file_and_line_of_the_entry(entry: str, detail: str) -> None:
    error = grid_error(f"parameters:\n  - key: ok\n    values: [1]\n  - {entry}\n")
    assert detail in error.detail
    assert error.where == "grid.yaml:4"
    assert error.hint


def test_errors_point_at_the_entry_in_a_block_list() -> None:
    error = grid_error(
        """
        # learning rates
        parameters:
          - key: lr
            values: [0.1]

          - key: epochs
            type: integer
            min: 10
            max: 1
            steps: 3
        """
    )
    assert error.where == "grid.yaml:7"
    assert "epochs" in error.detail


def test_a_parameter_given_twice_names_both_lines() -> None:
    error = grid_error("parameters:\n  - {key: a, values: [1]}\n  - {key: a, values: [2]}\n")
    assert error.where == "grid.yaml:3"
    assert "first at line 2" in error.detail


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("parameters:\n  - key: a\n    values: [1\n", 4),
        ("parameters:\n  - key: a\n   values: [1]\n", 3),
        ("parameters:\n  - {key: a, values: !!python/name:os.system []}\n", 2),
    ],
)
def test_bad_yaml_names_its_line(text: str, line: int) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_grid_file(text, source="g.yaml")
    assert info.value.where == f"g.yaml:{line}"
    assert "not valid YAML" in info.value.detail


@pytest.mark.parametrize("text", ["", "parameters:\n", "- key: a\n", "parameters: {key: a}\n"])
def test_a_grid_file_needs_a_parameters_list(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_grid_file(text, source="g.yaml")
    assert info.value.where == "g.yaml:1"
    assert info.value.hint is not None
    assert "parameters:" in info.value.hint


def test_python_values_from_a_flow_task_are_read_too() -> None:
    axis = axis_from_entry({"key": "k", "type": "float", "values": [0.1, 2.0, 3]}, where="p")
    assert axis.values == ("0.1", "2", "3")
    with pytest.raises(InvalidInput, match="not a number or a word") as info:
        axis_from_entry({"key": "k", "values": [True]}, where="params")
    assert info.value.where == "params"


# -- combinations --------------------------------------------------------------------------------


def test_combinations_vary_the_first_axis_slowest() -> None:
    axes = [ParamAxis("a", ("1", "2")), ParamAxis("b", ("x", "y", "z"))]
    assert combinations(axes) == [
        {"a": "1", "b": "x"},
        {"a": "1", "b": "y"},
        {"a": "1", "b": "z"},
        {"a": "2", "b": "x"},
        {"a": "2", "b": "y"},
        {"a": "2", "b": "z"},
    ]


def test_no_axes_give_one_run() -> None:
    assert combinations([]) == [{}]


def test_a_key_given_twice_is_refused() -> None:
    with pytest.raises(InvalidInput, match="'a' is given twice"):
        combinations([ParamAxis("a", ("1",)), ParamAxis("a", ("2",))])


def test_the_limit_says_how_many_and_what_the_limit_is() -> None:
    axes = [ParamAxis("a", tuple(map(str, range(101)))), ParamAxis("b", tuple("xyz"))]
    assert len(combinations(axes, limit=303)) == 303
    with pytest.raises(InvalidInput) as info:
        combinations(axes, limit=300)
    assert "303" in info.value.detail
    assert "300" in info.value.detail
    with pytest.raises(InvalidInput, match="1,000,000"):
        combinations([ParamAxis(k, tuple(map(str, range(100)))) for k in "abc"])


@given(st.dictionaries(KEYS, st.lists(st.text(max_size=3), min_size=1, max_size=4), max_size=4))
def test_combinations_are_the_whole_product_without_repeats(spec: dict[str, list[str]]) -> None:
    axes = [ParamAxis(k, tuple(dict.fromkeys(v))) for k, v in spec.items()]
    runs = combinations(axes)
    assert len(runs) == math.prod(len(a.values) for a in axes)
    assert len({tuple(r.items()) for r in runs}) == len(runs)
    for run in runs:
        assert list(run) == [a.key for a in axes]
        assert all(run[a.key] in a.values for a in axes)


# -- the command and the environment -------------------------------------------------------------


def test_params_are_appended_as_flags_quoted_for_the_shell() -> None:
    command = command_with_params("python train.py", {"lr": "0.1", "name": "a b", "q": "it's"})
    assert command == "python train.py --lr 0.1 --name 'a b' --q 'it'\"'\"'s'"
    assert command_with_params("python train.py", {}) == "python train.py"


@given(st.dictionaries(KEYS, st.text(st.characters(codec="utf-8"))))
def test_the_shell_reads_back_every_param(params: dict[str, str]) -> None:
    words = shlex.split(command_with_params("run", params))
    expected = ["run"] + [w for k, v in params.items() for w in (f"--{k}", v)]
    assert words == expected


def test_tag_env_uppercases_and_replaces_what_an_env_name_cannot_hold() -> None:
    env = tag_env({"lr": "0.1", "model.depth": "3", "batch-size": "64", "épochs": "2"})
    assert env == {
        "HW_TAG_LR": "0.1",
        "HW_TAG_MODEL_DEPTH": "3",
        "HW_TAG_BATCH_SIZE": "64",
        "HW_TAG__POCHS": "2",
    }


def test_names_with_spaces_and_symbols_are_parameters_as_in_cnvrg() -> None:
    """Seed 002: a parameter named ``model accuracy`` is CNVRG_TASK_A_MODEL_ACCUARCY later."""
    assert parse_param_option("model accuracy=0.1,0.2").key == "model accuracy"
    assert parse_param_option("1lr=1").key == "1lr"
    assert tag_env({"model accuracy": "0.1", "val/loss (x)": "2"}) == {
        "HW_TAG_MODEL_ACCURACY": "0.1",
        "HW_TAG_VAL_LOSS__X_": "2",
    }
    with pytest.raises(InvalidInput):
        parse_param_option("k" * 256 + "=1")

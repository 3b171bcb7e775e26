"""YAML from users is composed within limits: alias bombs, deep nesting and alias loops are
refused at the line that goes over, before anything is expanded; ordinary files load as before."""

from __future__ import annotations

import time

import pytest
import yaml

from headwater.domain import boundedyaml
from headwater.domain.boundedyaml import MAX_DEPTH, MAX_NODES, YamlTooLarge
from headwater.domain.flowspec import FlowSpecError, parse_flow
from headwater.domain.grid import parse_grid_file
from headwater.domain.live import parse_live


def alias_bomb(levels: int) -> str:
    """``a: &a [x, ...]`` then each level nine aliases of the one before: 9**levels values."""
    names = "abcdefghijkl"
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        lines.append(f"{names[i]}: &{names[i]} [" + ", ".join([f"*{names[i - 1]}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("levels", [7, 9])
def test_an_alias_bomb_is_refused_at_the_alias_that_goes_over(levels: int) -> None:
    text = alias_bomb(levels)
    start = time.perf_counter()
    with pytest.raises(YamlTooLarge) as caught:
        boundedyaml.compose(text, source="bomb.yaml")
    assert time.perf_counter() - start < 0.5
    # level 6 expands to ~590,000 values: the first alias on its line is where it went over
    assert caught.value.where == "bomb.yaml:6"
    assert f"{MAX_NODES:,}" in caught.value.detail


def test_aliases_within_the_limit_load_expanded() -> None:
    data = boundedyaml.safe_load(alias_bomb(3), source="ok.yaml")
    assert len(data["c"]) == 9
    assert data["c"][0] == data["b"]
    assert len(data["b"][0]) == 9


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_000, 50_000])
def test_deep_nesting_is_refused_not_a_recursion_error(depth: int) -> None:
    text = "top:\n  value: " + nested(depth) + "\n"
    with pytest.raises(YamlTooLarge) as caught:
        boundedyaml.compose(text, source="deep.yaml")
    assert caught.value.where == "deep.yaml:2"
    assert f"deeper than {MAX_DEPTH}" in caught.value.detail


def test_nesting_up_to_the_limit_loads() -> None:
    data = boundedyaml.safe_load(nested(MAX_DEPTH), source="ok.yaml")
    for _ in range(MAX_DEPTH - 1):
        data = data[0]
    assert data == []


def test_aliases_that_nest_deeper_than_the_limit_are_refused() -> None:
    # each level is one node more, so the node count stays small while the depth grows
    lines = ["a0: &a0 [x]"] + [f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, MAX_DEPTH + 2)]
    with pytest.raises(YamlTooLarge) as caught:
        boundedyaml.compose("\n".join(lines), source="chain.yaml")
    assert "alias nests" in caught.value.detail
    # a{i} on line i + 1 is i + 3 levels deep with the top mapping and its own list
    assert caught.value.where == f"chain.yaml:{MAX_DEPTH - 1}"


def test_an_alias_inside_what_it_names_is_refused() -> None:
    with pytest.raises(YamlTooLarge, match="loop") as caught:
        boundedyaml.compose("first: 1\nloop: &a\n  - x\n  - *a\n", source="loop.yaml")
    assert caught.value.where == "loop.yaml:4"


def test_many_plain_values_count_too() -> None:
    text = "values: [" + ", ".join(["1"] * (MAX_NODES + 1)) + "]"
    with pytest.raises(YamlTooLarge):
        boundedyaml.compose(text, source="wide.yaml")


def test_safe_load_matches_pyyaml_on_ordinary_files() -> None:
    text = "a: 1\nb: [yes, 0.1, null, 'x']\nc: &c {k: v}\nd: *c\n"
    assert boundedyaml.safe_load(text, source="x") == yaml.safe_load(text)
    assert boundedyaml.safe_load("", source="x") is None


def test_syntax_errors_still_raise_yaml_errors() -> None:
    with pytest.raises(yaml.YAMLError):
        boundedyaml.compose("a: [1, 2\n", source="x")


def test_a_flow_file_bomb_is_a_flow_spec_error_naming_file_and_line() -> None:
    text = "flow: Bomb\n" + alias_bomb(9) + "tasks: []\n"
    with pytest.raises(FlowSpecError) as caught:
        parse_flow(text, source="flow.yaml")
    assert caught.value.where is not None
    assert caught.value.where.startswith("flow.yaml:7")
    assert caught.value.wheres() == [caught.value.where]


def test_a_deep_flow_file_is_a_flow_spec_error() -> None:
    text = "flow: Deep\ntasks: " + nested(1_000) + "\n"
    with pytest.raises(FlowSpecError) as caught:
        parse_flow(text, source="flow.yaml")
    assert caught.value.where is not None
    assert caught.value.where.startswith("flow.yaml:2")


def test_a_flow_file_alias_loop_is_a_flow_spec_error() -> None:
    with pytest.raises(FlowSpecError, match="loop"):
        parse_flow("flow: Loop\ntasks: &t [*t]\n", source="flow.yaml")


def test_grid_and_live_files_use_the_same_limits() -> None:
    with pytest.raises(YamlTooLarge) as grid:
        parse_grid_file("parameters:\n" + alias_bomb(9), source="grid.yaml")
    assert grid.value.where == "grid.yaml:7"
    with pytest.raises(FlowSpecError) as live:
        parse_live("kind: live\njobs: " + nested(500), source="live.yaml")
    assert live.value.where is not None
    assert live.value.where.startswith("live.yaml:2")

"""Route expansion: the seed's examples (Grid Searches, Single mode, Dynamic Routes,
Conditions), then properties over random flows."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.domain.errors import InvalidInput
from headwater.domain.flowspec import (
    PASSED_CONDITION,
    Finished,
    Planned,
    count_routes,
    expand,
    expand_all,
    parse_flow,
    passed_condition_env,
    recorded,
)

from .helpers import exec_task, flow_of


def counts(expansions: Mapping[str, Any]) -> dict[str, int]:
    return {title: len(e.instances) for title, e in expansions.items()}


# -- the seed's examples ---------------------------------------------------------------


def test_one_route_when_no_task_has_a_grid() -> None:
    flow = flow_of([exec_task("A"), exec_task("B"), exec_task("C")], [("A", "C"), ("B", "C")])
    assert counts(expand_all(flow)) == {"A": 1, "B": 1, "C": 1}


def test_two_grid_search_example_makes_nine_routes() -> None:
    flow = flow_of(
        [exec_task("Grid Search A", 3), exec_task("Grid Search B", 3)],
        [("Grid Search A", "Grid Search B")],
    )
    assert counts(expand_all(flow))["Grid Search B"] == 9


def test_three_grid_search_example_makes_thirty_routes() -> None:
    flow = flow_of(
        [exec_task("A", 2), exec_task("B", 3), exec_task("C", 5)], [("A", "C"), ("B", "C")]
    )
    got = expand_all(flow)
    assert counts(got) == {"A": 2, "B": 3, "C": 30}
    pairs = {
        (p.parents[0].instance, p.parents[1].instance, p.params["i"]) for p in got["C"].instances
    }
    assert len(pairs) == 30  # every permutation once


@pytest.mark.parametrize(("grid", "total"), [(1, 6), (5, 10)])
def test_single_mode_examples(grid: int, total: int) -> None:
    flow = flow_of(
        [exec_task("A", 2), exec_task("B", 3), exec_task("Single mode C", grid, single_mode=True)],
        [("A", "Single mode C"), ("B", "Single mode C")],
    )
    got = expand_all(flow)
    assert counts(got)["Single mode C"] == grid
    assert count_routes(got) == total  # the seed's 2 + 3 + 1 and 2 + 3 + 5
    assert all(p.inputs == () and p.parents == () for p in got["Single mode C"].instances)


def test_dynamic_route_example() -> None:
    flow = parse_flow(
        "flow: Dynamic\ntasks:\n"
        "- {title: Params, type: exec, input: python3 p.py, computes: [c]}\n"
        "- title: Dynamic [?]\n  type: exec\n  input: python3 d.py\n  computes: [c]\n"
        "  params:\n  - key: route\n    value: '{ { Params.route | hyper } }'\n"
        "relations:\n- from: Params\n  to: Dynamic [?]\n"
    )
    params = Finished("p1", "Params", tags={"route": "1,2,3"})
    got = expand(flow, "Dynamic [?]", {"Params": [params]})
    assert [p.params for p in got.instances] == [{"route": "1"}, {"route": "2"}, {"route": "3"}]
    assert got.instances[0].env["HW_TAG_ROUTE"] == "1"
    assert got.instances[0].env["HW_PARAMS_ROUTE"] == "1,2,3"
    assert got.instances[0].inputs[0].folder == "params"


def test_a_tag_reference_keeps_case_and_spaces() -> None:
    flow = parse_flow(
        "flow: F\ntasks:\n- {title: Task A, type: exec, input: a, computes: [c]}\n"
        "- title: B\n  type: exec\n  input: b\n  computes: [c]\n  params:\n"
        "  - key: acc\n    value: 'best={{ Task A.model accuracy }}!'\n"
        "  - key: seed\n    value: '{ { Task A.model accuracy } }'\n"
        "relations:\n- {from: Task A, to: B}\n"
    )
    a = Finished("a", "Task A", tags={"model accuracy": "High 0.9"})
    (inst,) = expand(flow, "B", {"Task A": [a]}).instances
    assert inst.params == {"acc": "best=High 0.9!", "seed": "High 0.9"}
    assert inst.env["HW_TASK_A_MODEL_ACCURACY"] == "High 0.9"


def test_a_missing_tag_says_which_task_should_record_it() -> None:
    flow = flow_of(
        [exec_task("A"), exec_task("B", params=[{"key": "x", "value": "{{ A.acc }}"}])],
        [("A", "B")],
    )
    with pytest.raises(InvalidInput) as caught:
        expand(flow, "B", {"A": [Finished("a", "A")]})
    assert "hw_tag_acc" in (caught.value.hint or "")


# -- conditions ------------------------------------------------------------------------


def _conditioned(*conditions: dict[str, Any], parents: int = 1) -> Any:
    names = ["P", "Q"][:parents]
    tasks = [exec_task(n) for n in names]
    tasks.append(exec_task("C", conditions=list(conditions)))
    return flow_of(tasks, [(n, "C") for n in names])


def _runs(task: str, accs: list[str | None]) -> list[Finished]:
    return [
        Finished(f"{task}{n}", task, tags={} if a is None else {"acc": a})
        for n, a in enumerate(accs)
    ]


@pytest.mark.parametrize(
    ("objective", "target", "kept"),
    [
        ("gt", 0.5, ["P1", "P3"]),
        ("lt", 0.5, ["P0"]),
        ("eq", 0.9, ["P1", "P3"]),
        ("max", None, ["P1"]),
        ("min", None, ["P0"]),
    ],
)
def test_each_objective(objective: str, target: float | None, kept: list[str]) -> None:
    cond: dict[str, Any] = {"objective": objective, "tag_key": "acc", "task": "P"}
    if target is not None:
        cond["target"] = target
    flow = _conditioned(cond)
    pool = _runs("P", ["0.1", "0.9", None, "0.90", "oops"])
    got = expand(flow, "C", {"P": pool})
    assert [i.parents[0].instance for i in got.instances] == kept
    assert all(i.passed_condition == ("p",) for i in got.instances)
    env = passed_condition_env(got.instances[0].passed_condition, "/input", cnvrg=False)
    assert env == {PASSED_CONDITION: "/input/p"}
    env = passed_condition_env(got.instances[0].passed_condition, "/input")
    assert env == {PASSED_CONDITION: "/input/p", "CNVRG_TASKS_PASSED_CONDITION": "/input/p"}


def test_blank_task_means_every_parent() -> None:
    flow = _conditioned({"objective": "max", "tag_key": "acc"}, parents=2)
    got = expand(flow, "C", {"P": _runs("P", ["1", "3", "2"]), "Q": _runs("Q", ["5", "4"])})
    (inst,) = got.instances
    assert inst.parent_ids == ("P1", "Q0")
    assert passed_condition_env(inst.passed_condition, "/w/input/") == {
        PASSED_CONDITION: "/w/input/p,/w/input/q",
        "CNVRG_TASKS_PASSED_CONDITION": "/w/input/p,/w/input/q",
    }


def test_thresholds_apply_before_min_and_max() -> None:
    flow = _conditioned(
        {"objective": "max", "tag_key": "acc"}, {"objective": "lt", "tag_key": "acc", "target": 5}
    )
    got = expand(flow, "C", {"P": _runs("P", ["1", "7", "4", "3"])})
    assert [i.parent_ids for i in got.instances] == [("P2",)]


def test_nothing_passes_so_the_task_is_skipped_with_a_reason() -> None:
    flow = _conditioned({"objective": "gt", "tag_key": "acc", "target": 10})
    got = expand(flow, "C", {"P": _runs("P", ["1", "2"])})
    assert got.instances == ()
    assert got.skipped is not None
    assert "'P'" in got.skipped
    flow2 = flow_of([exec_task("P"), exec_task("C")], [("P", "C")])
    assert expand(flow2, "C", {"P": []}).skipped == "'P' has no instance that ended well"


def test_human_validation_filters_nothing() -> None:
    flow = _conditioned({"objective": "human_validation", "value": "ann,bob"})
    got = expand(flow, "C", {"P": _runs("P", ["1", "2"])})
    assert len(got.instances) == 2
    assert got.instances[0].passed_condition == ()


# -- data tasks, diamonds, limits ------------------------------------------------------


def test_a_data_task_mounts_and_does_not_multiply() -> None:
    flow = flow_of(
        [
            {"title": "Hot Dogs", "type": "data", "dataset": "hotdogs"},
            exec_task("VGG", 2),
            exec_task("S", 3, single_mode=True),
        ],
        [("Hot Dogs", "VGG"), ("Hot Dogs", "S")],
    )
    got = expand_all(flow)
    assert counts(got) == {"Hot Dogs": 1, "VGG": 2, "S": 3}
    for inst in (*got["VGG"].instances, *got["S"].instances):
        assert [d.task for d in inst.datasets] == ["Hot Dogs"]
        assert inst.inputs == ()


def test_a_diamond_keeps_routes_apart() -> None:
    flow = flow_of(
        [exec_task("A", 2), exec_task("B", 3), exec_task("C"), exec_task("D")],
        [("A", "B"), ("A", "C"), ("B", "D"), ("C", "D")],
    )
    got = expand_all(flow, lambda task, n, p: {"n": str(n)})
    assert counts(got)["D"] == 6  # 2 x 3, never an A-1 instance of B with an A-2 C
    by_id = {f"{t}#{n}": p for t, e in got.items() for n, p in enumerate(e.instances)}
    for inst in got["D"].instances:
        b, c = inst.parent_ids
        assert by_id[b].parent_ids == by_id[c].parent_ids  # the same instance of A


def test_too_many_instances_is_an_error_that_says_what_to_do() -> None:
    flow = flow_of([exec_task("A", 100), exec_task("B", 100)], [("A", "B")])
    with pytest.raises(InvalidInput) as caught:
        expand_all(flow, limit=9_999)
    assert "10,000 instances" in caught.value.detail
    assert counts(expand_all(flow))["B"] == 10_000


def test_env_holds_own_params_and_every_earlier_tag() -> None:
    flow = flow_of(
        [exec_task("A", 2), exec_task("B", 2), exec_task("C", 2)], [("A", "B"), ("B", "C")]
    )
    got = expand_all(flow, lambda task, n, p: {"acc": f"{task}{n}"})
    inst = got["C"].instances[-1]
    assert inst.env["HW_TAG_I"] == "1"
    assert inst.env["HW_A_ACC"].startswith("A")
    assert inst.env["HW_B_ACC"].startswith("B")
    assert {"HW_A_I", "HW_B_I"} <= set(inst.env)


# -- properties ------------------------------------------------------------------------


@st.composite
def random_flows(
    draw: st.DrawFn,
) -> tuple[Any, dict[str, int], dict[str, bool], dict[str, list[str]]]:
    n = draw(st.integers(1, 6))
    names = [f"T{i}" for i in range(n)]
    grids = {name: draw(st.integers(1, 3)) for name in names}
    single = {name: draw(st.booleans()) for name in names}
    parents = {name: [p for p in names[:i] if draw(st.booleans())] for i, name in enumerate(names)}
    tasks = [exec_task(name, grids[name], single_mode=single[name]) for name in names]
    edges = [(p, name) for name in names for p in parents[name]]
    return flow_of(tasks, edges), grids, single, parents


def _route_ancestors(name: str, single: dict[str, bool], parents: dict[str, list[str]]) -> set[str]:
    if single[name]:
        return set()
    out: set[str] = set()
    for p in parents[name]:
        out |= {p} | _route_ancestors(p, single, parents)
    return out


@settings(max_examples=150, deadline=None)
@given(random_flows())
def test_instances_are_own_grid_times_every_grid_on_the_route(case: Any) -> None:
    """X x Y: each route picks one combination of each earlier task's grid, once."""
    flow, grids, single, parents = case
    got = expand_all(flow)
    for name in grids:
        on_route = _route_ancestors(name, single, parents)
        assert len(got[name].instances) == grids[name] * math.prod(grids[a] for a in on_route)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.integers(1, 4), st.booleans())
def test_parents_multiply_unless_single_mode(sizes: list[int], own: int, single: bool) -> None:
    names = [f"P{i}" for i in range(len(sizes))]
    tasks = [exec_task(n, s) for n, s in zip(names, sizes, strict=True)]
    tasks.append(exec_task("C", own, single_mode=single))
    got = expand_all(flow_of(tasks, [(n, "C") for n in names]))
    assert len(got["C"].instances) == own * (1 if single else math.prod(sizes))
    assert count_routes(got) == sum(sizes) + len(got["C"].instances)


accs = st.lists(st.one_of(st.none(), st.floats(-10, 10, allow_nan=False)), min_size=0, max_size=8)


@settings(max_examples=200, deadline=None)
@given(
    accs, st.sampled_from(["gt", "lt", "eq", "min", "max"]), st.floats(-10, 10), st.integers(1, 3)
)
def test_conditions_keep_what_the_objective_says(
    values: list[float | None], objective: str, target: float, own: int
) -> None:
    cond: dict[str, Any] = {"objective": objective, "tag_key": "acc"}
    if objective in ("gt", "lt", "eq"):
        cond["target"] = target
    flow = flow_of([exec_task("P"), exec_task("C", own, conditions=[cond])], [("P", "C")])
    pool = [
        Finished(f"p{n}", "P", tags={} if v is None else {"acc": repr(v)})
        for n, v in enumerate(values)
    ]
    numbered = [(n, v) for n, v in enumerate(values) if v is not None]
    if objective == "gt":
        expect = [n for n, v in numbered if v > target]
    elif objective == "lt":
        expect = [n for n, v in numbered if v < target]
    elif objective == "eq":
        expect = [n for n, v in numbered if v == target]
    elif numbered:
        pick = min if objective == "min" else max
        best = pick(v for _, v in numbered)
        expect = [next(n for n, v in numbered if v == best)]
    else:
        expect = []
    got = expand(flow, "C", {"P": pool})
    kept = sorted({int(i.parent_ids[0][1:]) for i in got.instances})
    assert kept == expect
    assert len(got.instances) == own * len(expect)
    assert (got.skipped is None) == bool(expect)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 9), min_size=1, max_size=4), min_size=1, max_size=4),
    st.integers(1, 3),
)
def test_hyper_makes_one_instance_per_value_of_each_parent_instance(
    tags: list[list[int]], own: int
) -> None:
    flow = flow_of(
        [
            exec_task("P"),
            exec_task(
                "C",
                own,
                params=[
                    {"key": "i", "values": [str(n) for n in range(own)]},
                    {"key": "v", "value": "{{ P.v | hyper }}"},
                ],
            ),
        ],
        [("P", "C")],
    )
    pool = [Finished(f"p{n}", "P", tags={"v": ",".join(map(str, t))}) for n, t in enumerate(tags)]
    got = expand(flow, "C", {"P": pool})
    assert len(got.instances) == own * sum(len(set(t)) for t in tags)
    for inst in got.instances:
        parent = pool[int(inst.parent_ids[0][1:])]
        assert inst.params["v"] in parent.tags["v"].split(",")


def test_single_mode_reads_a_tag_all_parent_instances_agree_on() -> None:
    ref = [{"key": "v", "value": "{{ P.v }}"}]
    flow = flow_of([exec_task("P", 2), exec_task("C", params=ref, single_mode=True)], [("P", "C")])
    same = [Finished("a", "P", tags={"v": "1"}), Finished("b", "P", tags={"v": "1"})]
    assert [i.params for i in expand(flow, "C", {"P": same}).instances] == [{"v": "1"}]
    differ = [Finished("a", "P", tags={"v": "1"}), Finished("b", "P", tags={"v": "2"})]
    with pytest.raises(InvalidInput, match="2 different values"):
        expand(flow, "C", {"P": differ})


def test_single_mode_hyper_takes_every_value_once() -> None:
    ref = [{"key": "v", "value": "{{ P.v | hyper }}"}]
    flow = flow_of([exec_task("P", 2), exec_task("C", params=ref, single_mode=True)], [("P", "C")])
    pool = [Finished("a", "P", tags={"v": "1,2"}), Finished("b", "P", tags={"v": "2,3"})]
    assert [i.params["v"] for i in expand(flow, "C", {"P": pool}).instances] == ["1", "2", "3"]


def test_planned_instances_do_not_share_their_params() -> None:
    flow = flow_of([exec_task("A", 2), exec_task("B", 2)], [("A", "B")])
    first, second, *_ = expand_all(flow)["B"].instances
    assert isinstance(first, Planned)
    assert first.params is not second.params


def test_a_dynamic_grid_over_the_limit_is_refused_before_it_is_built() -> None:
    ref = [{"key": "v", "value": "{{ P.v | hyper }}"}]
    flow = flow_of(
        [exec_task("P"), exec_task("C", 50, params=[*exec_task("x", 50)["params"], *ref])],
        [("P", "C")],
    )
    pool = [Finished("p", "P", tags={"v": ",".join(str(i) for i in range(500))})]
    with pytest.raises(InvalidInput, match="25,000 instances"):
        expand(flow, "C", {"P": pool})


# -- what a "tag" is: one rule (instances.recorded) ------------------------------------


def test_recorded_puts_stdout_tags_before_sdk_params_before_latest_metrics() -> None:
    got = recorded(
        {"acc": "tag"},
        {"acc": "param", "route": "1,2,3"},
        {"acc": 0.5, "route": 9.0, "loss": 0.25, "epochs": 3.0},
    )
    assert got == {"acc": "tag", "route": "1,2,3", "loss": "0.25", "epochs": "3"}


def test_a_condition_on_a_metric_logged_with_the_sdk_works_like_a_tag() -> None:
    flow = _conditioned({"objective": "gt", "tag_key": "accuracy", "target": 0.5})
    runs = [
        Finished(f"P{n}", "P", tags=recorded({}, {}, {"accuracy": acc}))
        for n, acc in enumerate([0.4, 0.9])
    ]
    (inst,) = expand(flow, "C", {"P": runs}).instances
    assert inst.parent_ids == ("P1",)


def test_a_dynamic_route_reads_a_value_logged_with_log_param() -> None:
    """Seed 002's dynamic-route example: ``e.log_param("route", "1,2,3")``."""
    flow = flow_of(
        [
            exec_task("Params"),
            exec_task("Dynamic", params=[{"key": "route", "value": "{{ Params.route | hyper }}"}]),
        ],
        [("Params", "Dynamic")],
    )
    params = Finished("p", "Params", tags=recorded({}, {"route": "1,2,3"}, {}))
    got = expand(flow, "Dynamic", {"Params": [params]})
    assert [i.params for i in got.instances] == [{"route": "1"}, {"route": "2"}, {"route": "3"}]


def test_a_condition_on_a_key_never_recorded_says_so() -> None:
    flow = _conditioned({"objective": "max", "tag_key": "accuracy", "task": "P"})
    got = expand(flow, "C", {"P": _runs("P", ["0.1", "0.2"])})
    assert got.skipped is not None
    assert "'accuracy'" in got.skipped
    assert "no instance of 'P' recorded" in got.skipped
    assert "passed the condition" not in got.skipped

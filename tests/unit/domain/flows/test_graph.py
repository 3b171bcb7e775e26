"""The DAG rules on their own: order, cycles, readiness, what a failure skips."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.errors import InvalidInput
from headwater.domain.graph import CycleError, Dag

EDGES = [("load", "clean"), ("clean", "train"), ("clean", "report"), ("train", "deploy")]
NODES = ["load", "clean", "train", "report", "deploy", "alone"]


def test_parents_children_roots_and_leaves() -> None:
    dag = Dag(NODES, EDGES)
    assert dag.parents("train") == ("clean",)
    assert dag.children("clean") == ("train", "report")
    assert dag.roots() == ("load", "alone")
    assert dag.leaves() == ("report", "deploy", "alone")


def test_order_puts_parents_first_and_keeps_the_given_order_for_ties() -> None:
    assert Dag(NODES, EDGES).order() == ("load", "clean", "train", "report", "deploy", "alone")
    assert Dag(["b", "a"], []).order() == ("b", "a")


def test_repeated_nodes_and_edges_count_once() -> None:
    dag = Dag(["a", "b", "a"], [("a", "b"), ("a", "b")])
    assert dag.nodes == ("a", "b")
    assert dag.children("a") == ("b",)


def test_an_unknown_node_in_an_edge_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown node"):
        Dag(["a"], [("a", "b")])


def test_a_cycle_is_named_and_order_refuses_it() -> None:
    dag = Dag(["a", "b", "c", "d"], [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")])
    assert dag.find_cycle() == ("a", "b", "c", "a")
    with pytest.raises(CycleError) as caught:
        dag.order()
    assert isinstance(caught.value, InvalidInput)
    assert caught.value.cycle == ("a", "b", "c", "a")
    assert "a -> b -> c -> a" in caught.value.detail


def test_a_node_after_itself() -> None:
    assert Dag(["a"], [("a", "a")]).find_cycle() == ("a", "a")


def test_ready_waits_for_every_parent() -> None:
    dag = Dag(["a", "b", "c"], [("a", "c"), ("b", "c")])
    assert dag.ready(finished=[]) == ("a", "b")
    assert dag.ready(finished=[], started=["a"]) == ("b",)
    assert dag.ready(finished=["a"], started=["b"]) == ()
    assert dag.ready(finished=["a", "b"]) == ("c",)
    assert dag.ready(finished=["a", "b", "c"]) == ()


def test_a_failure_skips_its_descendants_and_spares_other_branches() -> None:
    dag = Dag(NODES, EDGES)
    assert dag.descendants("train") == {"deploy"}
    assert dag.descendants("clean") == {"train", "report", "deploy"}
    assert dag.descendants("train", "report") == {"deploy"}
    assert dag.ancestors("deploy") == {"load", "clean", "train"}
    # clean failed: nothing after it gets ready, "alone" still runs
    assert dag.ready(finished=["load"], started=["clean"]) == ("alone",)


def test_a_deep_chain_needs_no_recursion() -> None:
    names = [str(i) for i in range(5000)]
    dag = Dag(names, list(itertools.pairwise(names)))
    assert dag.order() == tuple(names)
    assert dag.find_cycle() is None
    assert len(dag.descendants("0")) == 4999


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[int], list[tuple[int, int]]]:
    n = draw(st.integers(1, 12))
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    edges = draw(st.lists(st.sampled_from(pairs), unique=True)) if pairs else []
    order = draw(st.permutations(range(n)))
    return list(order), edges


@given(dags())
def test_order_respects_every_edge(case: tuple[list[int], list[tuple[int, int]]]) -> None:
    nodes, edges = case
    order = Dag(nodes, edges).order()
    assert sorted(order) == sorted(nodes)
    position = {n: i for i, n in enumerate(order)}
    assert all(position[a] < position[b] for a, b in edges)


@given(dags(), st.data())
def test_a_back_edge_makes_a_real_cycle(
    case: tuple[list[int], list[tuple[int, int]]], data: st.DataObject
) -> None:
    nodes, edges = case
    assert Dag(nodes, edges).find_cycle() is None
    if not edges:
        return
    a, b = data.draw(st.sampled_from(edges))
    dag = Dag(nodes, [*edges, (b, a)])
    cycle = dag.find_cycle()
    assert cycle is not None
    assert cycle[0] == cycle[-1]
    assert all(y in dag.children(x) for x, y in itertools.pairwise(cycle))


@given(dags(), st.data())
def test_running_ready_nodes_until_none_is_left_runs_each_once(
    case: tuple[list[int], list[tuple[int, int]]], data: st.DataObject
) -> None:
    nodes, edges = case
    dag = Dag(nodes, edges)
    finished: list[int] = []
    while ready := dag.ready(finished):
        finished.append(data.draw(st.sampled_from(ready)))
    assert sorted(finished) == sorted(nodes)

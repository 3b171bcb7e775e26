"""The instance limit is the server's setting, read by the checks that count instances: an
import names the task, the count and the setting; the run's expansion uses the same limit."""

from __future__ import annotations

import pytest

from headwater.domain.errors import InvalidInput
from headwater.domain.flowspec import MAX_INSTANCES, FlowSpecError, expand_all, parse_flow


def _grid(title: str, size: int) -> str:
    values = ", ".join(str(i) for i in range(size))
    return (
        f"  - title: {title}\n    type: exec\n    input: run\n    computes: [small]\n"
        f"    params:\n    - key: x\n      value: [{values}]\n"
    )


def test_a_grid_over_the_servers_limit_is_refused_naming_the_task_count_and_setting() -> None:
    text = "flow: G\ntasks:\n" + _grid("Sweep", 60) + "relations: []\n"
    parse_flow(text, source="f.yaml")  # the default limit takes it
    with pytest.raises(FlowSpecError) as caught:
        parse_flow(text, source="f.yaml", max_instances=50)
    [problem] = caught.value.problems
    assert "task 'Sweep' has a grid of 60 combinations, over the limit of 50" in problem.detail
    assert "HEADWATER_FLOW_MAX_INSTANCES" in problem.detail
    assert "HEADWATER_FLOW_MAX_INSTANCES" in problem.hint


def test_a_route_over_the_servers_limit_is_refused_and_one_at_it_is_taken() -> None:
    text = (
        "flow: R\ntasks:\n" + _grid("A", 10) + _grid("B", 10)
        + "relations:\n  - from: A\n    to: B\n"
    )  # fmt: skip
    parse_flow(text, source="f.yaml", max_instances=100)  # 10 x 10: at the limit
    with pytest.raises(FlowSpecError) as caught:
        parse_flow(text, source="f.yaml", max_instances=99)
    [problem] = caught.value.problems
    assert "task 'B' would run 100 instances, over the limit of 99" in problem.detail
    assert "HEADWATER_FLOW_MAX_INSTANCES" in problem.detail


def test_a_raised_limit_takes_more_than_the_default_and_expansion_meets_the_same() -> None:
    text = "flow: Big\ntasks:\n" + _grid("A", 101) + _grid("B", 100)
    text += "relations:\n  - from: A\n    to: B\n"
    flow = parse_flow(text, source="f.yaml", max_instances=20_000)  # 10,100 > the default
    assert MAX_INSTANCES < 101 * 100
    assert len(expand_all(flow, limit=20_000)["B"].instances) == 10_100
    with pytest.raises(InvalidInput) as caught:
        expand_all(flow, limit=10_000)
    assert "HEADWATER_FLOW_MAX_INSTANCES" in caught.value.detail

"""The step cache's pure rules: the key and its parts, the ``cache:`` key of a flow file,
life spans, freshness, and what a miss says."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.flowspec import FlowSpecError, parse_flow, to_yaml
from headwater.domain.jobs import JobState
from headwater.domain.stepcache import (
    DEFAULT_LIFE_SPAN,
    PARTS,
    CachedResult,
    CachePolicy,
    KeyInputs,
    cache_key,
    changed_parts,
    format_life_span,
    fresh,
    last_run_of,
    parse_life_span,
    serving,
    why_missed,
)

from .flows.helpers import line_of

BASE = KeyInputs(
    command="python train.py",
    params={"lr": "0.1"},
    env={"MODE": "fast"},
    files={"tree": "t" * 64},
    requirements={"use": True, "prerun": True, "requirements.txt": "r" * 64},
    image="python:3.12",
    datasets=({"name": "d", "commit": "c1", "filter": None},),
    inputs=({"folder": "prep", "outputs": "o" * 64},),
    tags={"HW_PREP_ROWS": "10"},
    options={"output_dir": "output", "working_dir": "", "cnvrg_env": True, "passed": []},
)
# one change to each part: the part's name is the field's name
CHANGES: dict[str, Any] = {
    "command": "python train.py --fast",
    "params": {"lr": "0.01"},
    "env": {"MODE": "slow"},
    "files": {"tree": "u" * 64},
    "requirements": {"use": True, "prerun": True, "requirements.txt": "s" * 64},
    "image": "python:3.13",
    "datasets": ({"name": "d", "commit": "c2", "filter": None},),
    "inputs": ({"folder": "prep", "outputs": "p" * 64},),
    "tags": {"HW_PREP_ROWS": "11"},
    "options": {"output_dir": "out", "working_dir": "", "cnvrg_env": True, "passed": []},
}


def test_every_part_is_a_field_and_changes_the_key_naming_itself() -> None:
    assert set(PARTS) == {f.name for f in fields(KeyInputs)} == set(CHANGES)
    base = cache_key(BASE)
    for part, value in CHANGES.items():
        other = cache_key(replace(BASE, **{part: value}))
        assert other.key != base.key, part
        assert changed_parts(other.parts, base.parts) == [part]


def test_the_order_of_env_parents_and_datasets_does_not_matter() -> None:
    two = ({"folder": "a", "outputs": "1"}, {"folder": "b", "outputs": "2"})
    one = replace(BASE, inputs=two, env={"A": "1", "B": "2"})
    other = replace(BASE, inputs=tuple(reversed(two)), env={"B": "2", "A": "1"})
    assert cache_key(one) == cache_key(other)


# -- the property ----------------------------------------------------------------------------

text = st.text(max_size=6)
small_maps = st.dictionaries(text, text, max_size=3)
items = st.lists(
    st.fixed_dictionaries({"folder": text, "outputs": st.one_of(st.none(), text)}),
    max_size=3,
    unique_by=lambda d: (d["folder"], d["outputs"]),
)
inputs_st = st.builds(
    KeyInputs,
    command=text,
    params=small_maps,
    env=small_maps,
    files=st.fixed_dictionaries({"tree": st.one_of(st.none(), text)}),
    requirements=small_maps,
    image=st.one_of(st.none(), text),
    datasets=items,
    inputs=items,
    tags=small_maps,
    options=small_maps,
)


def _canonical(value: Any) -> Any:
    """A part as its meaning: mappings and parent/dataset lists compare as sets."""
    if isinstance(value, dict):
        return sorted(value.items())
    if isinstance(value, list | tuple):
        return sorted((sorted(v.items(), key=repr) for v in value), key=repr)
    return value


@given(inputs_st, inputs_st)
def test_the_key_changes_when_and_only_when_an_input_that_determines_the_result_does(
    a: KeyInputs, b: KeyInputs
) -> None:
    differing = [p for p in PARTS if _canonical(getattr(a, p)) != _canonical(getattr(b, p))]
    ka, kb = cache_key(a), cache_key(b)
    assert (ka.key == kb.key) == (not differing)
    assert changed_parts(ka.parts, kb.parts) == differing


@given(inputs_st, st.sampled_from(PARTS), st.data())
def test_changing_one_part_changes_that_part_alone(
    a: KeyInputs, part: str, data: st.DataObject
) -> None:
    b = data.draw(inputs_st)
    mixed = replace(a, **{part: getattr(b, part)})
    same = _canonical(getattr(a, part)) == _canonical(getattr(b, part))
    assert changed_parts(cache_key(mixed).parts, cache_key(a).parts) == ([] if same else [part])


# -- life spans and the flow file ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "seconds"),
    [("14d", 14 * 86400), ("1d12h", 129600), ("90m", 5400), ("3600s", 3600), (60, 60)],
)
def test_life_spans_read_and_write_back(written: Any, seconds: int) -> None:
    assert parse_life_span(written) == seconds
    assert parse_life_span(format_life_span(seconds)) == seconds


FLOW = """\
flow: Cached
tasks:
  - title: A
    type: exec
    input: python a.py
    computes: [small]
    cache: CACHE
relations: []
"""


@pytest.mark.parametrize(
    ("written", "policy"),
    [
        ("none", CachePolicy(strategy="none")),
        ("default", CachePolicy()),
        ("{life_span: 2d}", CachePolicy(life_span=2 * 86400)),
        ("{strategy: none}", CachePolicy(strategy="none")),
    ],
)
def test_the_cache_key_of_a_task_reads_and_exports_back(written: str, policy: CachePolicy) -> None:
    flow = parse_flow(FLOW.replace("CACHE", written))
    task = flow.task("A")
    assert task.cache == policy  # type: ignore[union-attr]
    assert parse_flow(to_yaml(flow)) == flow


def test_without_cache_a_task_is_cached_for_fourteen_days() -> None:
    flow = parse_flow(FLOW.replace("    cache: CACHE\n", ""))
    assert flow.task("A").cache == CachePolicy(life_span=DEFAULT_LIFE_SPAN)  # type: ignore[union-attr]
    assert "cache" not in to_yaml(flow)


@pytest.mark.parametrize(
    ("written", "key", "said"),
    [
        ("sometimes", "cache", "is not none or default"),
        ("{life_span: 2weeks}", "cache.life_span", "is not a span of time"),
        ("{life_span: 0s}", "cache.life_span", "out of range"),
        ("{life_span: 4000d}", "cache.life_span", "out of range"),
        ("{strategy: inherit}", "cache.strategy", "is not none or default"),
        ("{lifespan: 1d}", "cache.lifespan", "unknown key 'lifespan'"),
    ],
)
def test_a_wrong_cache_names_its_line_and_key(written: str, key: str, said: str) -> None:
    text = FLOW.replace("CACHE", written)
    with pytest.raises(FlowSpecError) as caught:
        parse_flow(text, source="f.yaml")
    err = caught.value
    assert err.where == f"f.yaml:{line_of(text, 'cache:')} tasks[0].{key}"
    assert said in err.detail
    assert err.hint


# -- freshness and misses ------------------------------------------------------------------------

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


def _result(
    n: int, *, state: JobState = JobState.SUCCESS, age: timedelta, params: str = "p"
) -> CachedResult:
    return CachedResult(
        id=f"r{n}",
        task="A",
        key="k",
        parts={"params": params},
        run_id=f"run{n}",
        run_number=n,
        instance_id=f"i{n}",
        experiment_id=f"e{n}",
        experiment_number=n,
        state=state,
        ended_at=NOW - age,
        output_commit=None,
        created_at=NOW - age,
    )


def test_a_result_serves_within_its_life_span_newest_first() -> None:
    day = timedelta(days=1)
    old, new, failed = (
        _result(1, age=3 * day),
        _result(2, age=day),
        _result(3, state=JobState.FAILED, age=day),
    )
    assert fresh(NOW - day, 86400, NOW)
    assert not fresh(NOW - day - timedelta(seconds=1), 86400, NOW)
    assert serving([old, new, failed], 14 * 86400, NOW) == [new, old]
    assert serving([old, new], 2 * 86400, NOW) == [new]  # the clock moved past the older one


def test_a_miss_compares_with_the_same_params_and_says_what_changed() -> None:
    day = timedelta(days=1)
    mine, newer = _result(1, age=2 * day, params="mine"), _result(2, age=day, params="other")
    assert last_run_of([mine, newer], "mine") == mine
    assert last_run_of([mine, newer], "new") == newer
    assert last_run_of([], "new") is None
    assert why_missed(["params", "files"], 4) == "params, files changed since run 4"
    assert why_missed([], None) == "no earlier run of this task"

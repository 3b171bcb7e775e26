"""Export reads back equal: ``parse_flow(to_yaml(flow)) == flow`` for any valid flow."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headwater.domain.flowspec import Flow, parse_flow, run_checks, to_yaml
from headwater.domain.grid import ParamAxis

# printable text with YAML's troublemakers: quotes, colons, '#', '*', '&', '!', leading '-'
_CHARS = st.characters(
    codec="utf-8", categories=("L", "N", "P", "S", "Zs"), exclude_characters="\x85\u2028\u2029"
)
text = st.text(_CHARS, min_size=1, max_size=20).filter(lambda s: s.strip() == s and s.strip())
words = st.sampled_from(
    [
        "yes",
        "no",
        "null",
        "~",
        "0123",
        "1e5",
        "1_000",
        "0x1F",
        "true",
        "-",
        "*x",
        "a: b",
        "#c",
        "2021-01-31",
        "'q'",
        '"dq"',
        "[1]",
        "{a}",
        "x,y",
        "é ü",
        "3.10",
    ]
)
value = st.one_of(text, words).filter(lambda s: "{" not in s or "}" not in s)
maybe = st.one_of(st.none(), value)
names = st.lists(value, max_size=3).map(tuple)
flag = st.one_of(st.none(), st.booleans())


@st.composite
def params(draw: st.DrawFn) -> tuple[ParamAxis, ...]:
    keys = draw(
        st.lists(st.from_regex(r"[a-z_][a-z0-9_.-]{0,8}", fullmatch=True), unique=True, max_size=3)
    )
    return tuple(ParamAxis(k, tuple(draw(st.lists(value, min_size=1, max_size=3)))) for k in keys)


@st.composite
def flows(draw: st.DrawFn) -> Flow:
    n = draw(st.integers(1, 5))
    titles = [f"{draw(st.sampled_from(['Task', 'Step', 'Ünit']))} {i}" for i in range(n)]
    kinds = [draw(st.sampled_from(["data", "exec", "deploy"])) for _ in titles]
    tasks: list[dict[str, Any]] = []
    must: list[dict[str, str]] = []
    for i, title in enumerate(titles):
        common = {
            "title": title,
            "description": draw(maybe),
            "top": draw(st.none() | st.integers()),
            "left": draw(st.none() | st.integers(-5, 5)),
        }
        kind = kinds[i]
        cond: list[dict[str, Any]] = []
        if i and kinds[i - 1] != "data" and kind != "data" and draw(st.booleans()):
            must.append({"from": titles[i - 1], "to": title})
            cond.append(
                {
                    "objective": "gt",
                    "tag_key": draw(value),
                    "task": titles[i - 1],
                    "target": draw(st.floats(-1e6, 1e6, allow_nan=False)),
                }
            )
        if kind != "data" and draw(st.booleans()):
            cond.append({"objective": "human_validation", "value": "ann,bob"})
        if kind == "data":
            tasks.append(
                common
                | {
                    "type": "data",
                    "dataset": draw(value),
                    "data_commit": draw(maybe),
                    "use_cached": draw(st.booleans()),
                }
            )
        elif kind == "exec":
            tasks.append(
                common
                | {
                    "type": "exec",
                    "input": draw(value),
                    "computes": draw(names.filter(bool)),
                    "image": draw(maybe),
                    "params": draw(params()),
                    "conditions": cond,
                    "confirmation": draw(names),
                    "single_mode": draw(st.booleans()),
                    "output_dir": draw(maybe),
                    "git_branch": draw(maybe),
                    "git_commit": draw(maybe),
                    "periodic_sync": draw(flag),
                    "restart_if_stuck": draw(st.booleans()),
                    "prerun": draw(st.booleans()),
                    "requirements": draw(st.booleans()),
                    "notify_on_error": draw(flag),
                    "notify_on_success": draw(flag),
                    "emails": draw(names),
                    "mount_folders": ("10.0.0.1:/data",),
                }
            )
        else:
            tasks.append(
                common
                | {
                    "type": "deploy",
                    "endpoint_title": "ep-1",
                    "computes": ("c",),
                    "conditions": cond,
                    "file_name": draw(value),
                    "function_name": draw(value),
                    "env_setup": draw(st.sampled_from(["python_3", "r_endpoint"])),
                    "min_replica": 1,
                    "max_replica": draw(st.integers(1, 9)),
                    "config_vars": ("A=1", "B=x,y"),
                    "accept_files": draw(st.booleans()),
                }
            )
    relations = must + [
        {"from": a, "to": b}
        for j, b in enumerate(titles)
        for a in titles[:j]
        if draw(st.booleans())
    ]
    when = draw(
        st.sampled_from(
            [
                {},
                {"schedule": "2021.01.31 4:25PM"},
                {"recurring": "* * * * *"},
                {"recurring": "0 0 * * 1 UTC"},
            ]
        )
    )
    return Flow.model_validate({"flow": draw(value), "tasks": tasks, "relations": relations} | when)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flows())
def test_export_then_parse_gives_the_same_flow(flow: Flow) -> None:
    assert run_checks(flow) == []
    assert parse_flow(to_yaml(flow)) == flow

"""Request-log sampling: the rule's forms, a deterministic 1 in N, truncation that says so."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.errors import InvalidInput
from headwater.domain.sampling import (
    ALL,
    NONE,
    SampleRule,
    effective_rule,
    parse_rule,
    truncate,
)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("all", ALL),
        ("ALL", ALL),
        ("none", NONE),
        ("1/1", ALL),
        ("1/10", SampleRule(10)),
        (" 1 / 100 ", SampleRule(100)),
    ],
)
def test_the_three_forms(text: str, rule: SampleRule) -> None:
    assert parse_rule(text) == rule


@pytest.mark.parametrize("text", ["", "some", "1/0", "2/10", "1/-3", "1/x", "10%", "1/2.5"])
def test_anything_else_is_refused_with_the_forms(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_rule(text, where="settings.request_log")
    assert caught.value.where == "settings.request_log"
    assert "all, none or 1/N" in caught.value.detail
    assert caught.value.hint is not None
    assert "1/100" in caught.value.hint


def test_a_rule_reads_back_as_written() -> None:
    assert [str(parse_rule(t)) for t in ("all", "none", "1/7")] == ["all", "none", "1/7"]


def test_one_in_ten_keeps_exactly_the_first_of_each_ten() -> None:
    rule = parse_rule("1/10")
    assert [n for n in range(30) if rule.keeps(n)] == [0, 10, 20]


@given(st.integers(1, 500), st.integers(0, 5000))
def test_one_in_n_keeps_its_share_of_any_run_from_the_start(every: int, count: int) -> None:
    rule = SampleRule(every)
    kept = sum(rule.keeps(n) for n in range(count))
    assert kept == -(-count // every)


def test_all_and_none() -> None:
    assert all(ALL.keeps(n) for n in range(10))
    assert not any(NONE.keeps(n) for n in range(10))


def test_the_endpoints_rule_wins_then_the_projects_then_the_servers() -> None:
    assert effective_rule("none", "1/5", "all") == NONE
    assert effective_rule(None, "1/5", "all") == SampleRule(5)
    assert effective_rule("", "", "1/2") == SampleRule(2)
    assert effective_rule(None, None) == ALL


def test_a_short_text_is_kept_whole() -> None:
    assert truncate('{"input_params": [1, 2]}', 100) == '{"input_params": [1, 2]}'


def test_a_long_text_is_cut_and_says_how_much() -> None:
    cut = truncate("x" * 5000, 100)
    assert len(cut.encode()) <= 100
    assert cut.startswith("x" * 50)
    kept = cut.count("x")
    assert cut.endswith(f"…[{5000 - kept} more bytes]")


def test_a_character_is_never_cut_in_two() -> None:
    cut = truncate("é" * 100, 41)
    assert "\ufffd" not in cut
    assert len(cut.encode()) <= 41


@given(st.text(max_size=300), st.integers(0, 400))
def test_within_the_limit_and_a_prefix_of_the_text(text: str, limit: int) -> None:
    cut = truncate(text, limit)
    assert len(cut.encode()) <= max(limit, 0) or cut == text
    if cut != text:
        kept = cut.split("…[")[0] if "…[" in cut else cut
        assert text.startswith(kept)

"""The experiments table's filter and sort language: what it reads, what it refuses and where."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.errors import InvalidInput
from headwater.domain.jobs import JobState
from headwater.domain.runquery import (
    MAX_COMPARISONS,
    MAX_DEPTH,
    MAX_LENGTH,
    Agg,
    AllOf,
    AnyOf,
    Catalog,
    Column,
    Compare,
    Condition,
    Name,
    Node,
    Not,
    Op,
    Source,
    Value,
    filter_of,
    parse_filter,
    render,
    sort_of,
)

CATALOG = Catalog(
    params=frozenset({"lr", "optimizer", "both"}),
    tags=frozenset({"stage", "both", "lr"}),
    metrics=frozenset({"accuracy", "loss", "val.acc", "both", "train/loss"}),
)


def cond(source: Source, key: str, op: Op, operand: object, agg: Agg = Agg.LATEST) -> Condition:
    return Condition(Column(source, key, agg), op, operand)  # type: ignore[arg-type]


def test_the_examples_of_the_issue() -> None:
    assert filter_of("lr > 0.1 and accuracy >= 0.9", CATALOG) == AllOf(
        (
            cond(Source.PARAM, "lr", Op.GT, 0.1),
            cond(Source.METRIC, "accuracy", Op.GE, 0.9),
        )
    )
    assert filter_of("status == failed", CATALOG) == cond(
        Source.BUILTIN, "status", Op.EQ, JobState.FAILED
    )
    assert filter_of('params.optimizer == "adam"', CATALOG) == cond(
        Source.PARAM, "optimizer", Op.EQ, "adam"
    )
    assert filter_of("metrics.loss.min < 0.2", CATALOG) == cond(
        Source.METRIC, "loss", Op.LT, 0.2, Agg.MIN
    )


def test_and_binds_tighter_than_or_and_not_applies_to_one_condition() -> None:
    tree = filter_of("lr > 1 or lr < 0 and not loss.max > 2", CATALOG)
    assert tree == AnyOf(
        (
            cond(Source.PARAM, "lr", Op.GT, 1.0),
            AllOf(
                (
                    cond(Source.PARAM, "lr", Op.LT, 0.0),
                    Not(cond(Source.METRIC, "loss", Op.GT, 2.0, Agg.MAX)),
                )
            ),
        )
    )


def test_bare_names_prefer_builtins_then_params_then_metrics_then_tags() -> None:
    assert sort_of("both", CATALOG) == Column(Source.PARAM, "both")
    assert sort_of("lr", CATALOG) == Column(Source.PARAM, "lr")  # a tag too: the param wins
    assert sort_of("tags.lr", CATALOG) == Column(Source.TAG, "lr")
    assert sort_of("metrics.both.max", CATALOG) == Column(Source.METRIC, "both", Agg.MAX)
    assert sort_of("stage", CATALOG) == Column(Source.TAG, "stage")
    assert sort_of("created_at", CATALOG) == Column(Source.BUILTIN, "created")  # the old names
    assert sort_of("state", CATALOG) == Column(Source.BUILTIN, "status")


def test_metric_keys_with_dots_slashes_and_quotes() -> None:
    assert sort_of("val.acc.max", CATALOG) == Column(Source.METRIC, "val.acc", Agg.MAX)
    assert sort_of("metrics.val.acc", CATALOG) == Column(Source.METRIC, "val.acc")
    assert sort_of("metrics.`val.acc`.min", CATALOG) == Column(Source.METRIC, "val.acc", Agg.MIN)
    assert sort_of("train/loss", CATALOG) == Column(Source.METRIC, "train/loss")
    assert Column(Source.METRIC, "val.acc", Agg.MIN).spelled == "metrics.`val.acc`.min"


def test_values_are_typed_by_the_column() -> None:
    assert filter_of("lr == 0.1", CATALOG) == cond(Source.PARAM, "lr", Op.EQ, 0.1)
    assert filter_of('lr == "0.1"', CATALOG) == cond(Source.PARAM, "lr", Op.EQ, "0.1")
    assert filter_of("optimizer = adam", CATALOG) == cond(Source.PARAM, "optimizer", Op.EQ, "adam")
    assert filter_of("duration > 5m", CATALOG) == cond(Source.BUILTIN, "duration", Op.GT, 300.0)
    assert filter_of("duration <= 90", CATALOG) == cond(Source.BUILTIN, "duration", Op.LE, 90.0)
    when = datetime(2026, 1, 31, tzinfo=UTC)
    assert filter_of("created >= 2026-01-31", CATALOG) == cond(
        Source.BUILTIN, "created", Op.GE, when
    )
    assert filter_of("title == 'a b'", CATALOG) == cond(Source.BUILTIN, "title", Op.EQ, "a b")
    assert filter_of("STATUS != Success", CATALOG) == cond(
        Source.BUILTIN, "status", Op.NE, JobState.SUCCESS
    )


def test_an_empty_filter_is_everything() -> None:
    assert filter_of("", CATALOG) is None
    assert filter_of("   ", CATALOG) is None


def error(text: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        filter_of(text, CATALOG)
    return caught.value


@pytest.mark.parametrize(
    ("text", "column", "says", "hint"),
    [
        ("lr >", 5, "expected a value", "lr > 0.1"),
        ("lr > 1 and", 11, "expected a column name", "params.lr"),
        ("(lr > 1", 8, "to close the '(' at column 1", "missing ')'"),
        ("lr > 1)", 7, "unexpected ')'", "and"),
        ("lr 1", 4, "expected an operator", "accuracy >= 0.9"),
        ("lr ! 1", 4, "'!' is not an operator", "!="),
        ('lr == "open', 7, "never closed", 'matching "'),
        ("status == faild", 11, "'faild' is not a state", "failed"),
        ("status > failed", 10, "== or !=", "status == failed"),
        ("loss < low", 8, "holds numbers", "no quotes"),
        ("number > 1.5", 10, "whole number", "number > 100"),
        ("created > yesterday", 11, "not a date", "2026-01-31"),
        ("duration > 5w", 12, "not a duration", "5m"),
        ("metrics..loss > 1", 1, "not a well-formed column name", "single dots"),
        ('title == "a\x00b"', 12, "control character", "plain text"),
        ("created > 0001-01-01T00:00+05:00", 11, "not a date", "UTC"),
    ],
)
def test_errors_say_what_where_and_how_to_fix(text: str, column: int, says: str, hint: str) -> None:
    err = error(text)
    assert err.where == f"filter, column {column}"
    assert says in err.detail
    assert hint in (err.hint or "")


def test_an_unknown_name_suggests_close_ones_and_lists_what_there_is() -> None:
    err = error("acuracy > 0.9")
    assert err.where == "filter, column 1"
    assert "no column 'acuracy'" in err.detail
    assert "Did you mean accuracy?" in (err.hint or "")
    assert "params.optimizer" in (err.hint or "")
    assert "no metric 'nope'" in error("lr == 1 or metrics.nope.max > 1").detail
    assert error("lr == 1 or metrics.nope.max > 1").where == "filter, column 12"
    assert "no param 'stage'" in error("params.stage == a").detail


def test_a_bad_sort_names_the_sort() -> None:
    with pytest.raises(InvalidInput) as caught:
        sort_of("password", CATALOG)
    assert caught.value.where == "sort"
    assert "title" in (caught.value.hint or "")
    with pytest.raises(InvalidInput) as caught:
        sort_of("lr desc", CATALOG)
    assert caught.value.where == "sort"


def test_length_nesting_and_size_are_bounded() -> None:
    err = error("lr > 1 and " * 200 + "lr > 1")
    assert "at most 1000" in err.detail
    assert filter_of(" " * (MAX_LENGTH - 6) + "lr > 1", CATALOG) is not None
    deep = "(" * (MAX_DEPTH + 1) + "lr > 1" + ")" * (MAX_DEPTH + 1)
    assert "nested more than" in error(deep).detail
    ok = "(" * (MAX_DEPTH - 1) + "lr > 1" + ")" * (MAX_DEPTH - 1)
    assert filter_of(ok, CATALOG) == cond(Source.PARAM, "lr", Op.GT, 1.0)
    assert "nested" in error("not " * (MAX_DEPTH + 1) + "lr > 1").detail
    many = " or ".join(["lr>1"] * (MAX_COMPARISONS + 1))
    assert "more than 40 comparisons" in error(many).detail


# -- properties -------------------------------------------------------------------------

_keys = st.text(alphabet="abnotrxyz_-/. `\"'0123456789", min_size=1, max_size=8).filter(
    lambda k: "." not in k or k.strip(".") == k
)
_names = st.lists(_keys, min_size=1, max_size=3).map(lambda parts: Name(tuple(parts)))
_values = st.one_of(
    st.builds(Value, st.from_regex(r"-?[0-9]{1,4}(\.[0-9]{1,3})?", fullmatch=True), st.just(False)),
    st.builds(Value, st.from_regex(r"[a-z][a-z0-9_\-]{0,6}", fullmatch=True), st.just(False)),
    st.builds(Value, st.text(st.characters(min_codepoint=32), max_size=10), st.just(True)),
)
_compares = st.builds(Compare, _names, st.sampled_from(list(Op)), _values)


def _tree(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return st.one_of(
        st.builds(Not, children),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: AllOf(tuple(xs))),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: AnyOf(tuple(xs))),
    )


_trees = st.recursive(_compares, _tree, max_leaves=6)


def _flat(node: Node) -> Node:
    """The tree as parsing builds it: and/or chains of one kind merge, no single-item ones."""
    if isinstance(node, Not):
        return Not(_flat(node.item))
    if isinstance(node, AllOf | AnyOf):
        return type(node)(tuple(_flat(i) for i in node.items))
    return node


@given(_trees)
def test_render_then_parse_gives_the_same_tree(tree: Node) -> None:
    assert parse_filter(render(tree)) == _flat(tree)


@given(st.text(max_size=200))
def test_any_text_parses_or_fails_with_a_placed_error(text: str) -> None:
    caught: InvalidInput | None = None
    try:
        filter_of(text, CATALOG)
    except InvalidInput as err:
        caught = err
    if caught is not None:
        assert caught.hint
        assert caught.where is not None
        assert caught.where.startswith("filter, column ")
        column = int(caught.where.rsplit(" ", 1)[1])
        assert 1 <= column <= len(text) + 1

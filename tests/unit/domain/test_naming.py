"""Naming rules: secret keys and values (seed 000 Project Secrets), env vars, project names."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.errors import InvalidInput
from headwater.domain.naming import (
    PROJECT_NAME_MAX,
    SECRET_VALUE_MAX,
    check_env_var,
    check_project_name,
    check_secret_key,
    check_secret_value,
    env_part,
    value_key_problem,
)

SECRET_KEY_RULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Each rule of seed 000 is refused with a message of its own.
SECRET_KEY_RULES = [
    ("empty", "", "cannot be empty"),
    ("space", "MY KEY", "contains a space"),
    ("bad character", "MY-KEY", "contains '-'"),
    ("non-ascii letter", "KÉY", "contains 'É'"),
    ("leading digit", "1KEY", "starts with a digit"),
]


@pytest.mark.parametrize(
    ("key", "message"), [r[1:] for r in SECRET_KEY_RULES], ids=[r[0] for r in SECRET_KEY_RULES]
)
def test_each_secret_key_rule_has_its_own_message(key: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_secret_key(key)
    error = caught.value
    assert message in error.detail
    assert error.where == "key"
    assert error.hint
    others = [m for _, _, m in SECRET_KEY_RULES if m != message]
    assert not any(other in error.detail for other in others), error.detail


def test_secret_key_messages_differ() -> None:
    details = set()
    for _, key, _ in SECRET_KEY_RULES:
        with pytest.raises(InvalidInput) as caught:
            check_secret_key(key)
        details.add(caught.value.detail)
    assert len(details) == len(SECRET_KEY_RULES)


def test_where_is_passed_through() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_secret_key("A B", where="secrets.0.key")
    assert caught.value.where == "secrets.0.key"


@pytest.mark.parametrize("key", ["A", "_", "_1KEY", "AWS_ACCESS_KEY", "key9", "a" * 200])
def test_valid_secret_keys(key: str) -> None:
    assert check_secret_key(key) == key


@given(st.from_regex(SECRET_KEY_RULE, fullmatch=True))
def test_any_key_matching_the_rule_is_accepted(key: str) -> None:
    assert check_secret_key(key) == key


@given(st.text(max_size=30).filter(lambda k: SECRET_KEY_RULE.fullmatch(k) is None))
def test_any_other_key_is_refused(key: str) -> None:
    with pytest.raises(InvalidInput):
        check_secret_key(key)


def test_secret_value_limit() -> None:
    assert check_secret_value("x" * SECRET_VALUE_MAX) == "x" * SECRET_VALUE_MAX
    assert check_secret_value("") == ""
    with pytest.raises(InvalidInput) as caught:
        check_secret_value("x" * (SECRET_VALUE_MAX + 1))
    assert SECRET_VALUE_MAX == 253
    assert "254" in caught.value.detail
    assert "253" in caught.value.detail
    assert caught.value.where == "value"


@given(st.text(min_size=0, max_size=400))
def test_secret_value_accepted_iff_at_most_253_characters(value: str) -> None:
    if len(value) <= SECRET_VALUE_MAX:
        assert check_secret_value(value) == value
    else:
        with pytest.raises(InvalidInput):
            check_secret_value(value)


# -- environment variables (seed 000 Environment: no spaces before or after any entry) ------------


@pytest.mark.parametrize(
    ("key", "value", "label"),
    [
        (" KEY", "v", "name"),
        ("KEY ", "v", "name"),
        ("KEY", " v", "value"),
        ("KEY", "v ", "value"),
        ("KEY", "v\n", "value"),
        ("KEY", "\tv", "value"),
    ],
)
def test_env_surrounding_spaces_are_refused(key: str, value: str, label: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_env_var(key, value)
    assert f"environment variable {label}" in caught.value.detail
    assert "spaces before or after" in caught.value.detail
    assert caught.value.where == "env.KEY"


@pytest.mark.parametrize(("key", "value"), [("KEY", "a b"), ("_K1", ""), ("PATH", "/a:/b")])
def test_env_valid_entries(key: str, value: str) -> None:
    assert check_env_var(key, value) == (key, value)


@pytest.mark.parametrize("key", ["", "1A", "A-B", "A.B", "A B"])
def test_env_bad_names(key: str) -> None:
    with pytest.raises(InvalidInput):
        check_env_var(key, "v")


@given(st.text(max_size=20))
def test_env_value_accepted_iff_no_surrounding_whitespace(value: str) -> None:
    if value == value.strip():
        assert check_env_var("KEY", value) == ("KEY", value)
    else:
        with pytest.raises(InvalidInput):
            check_env_var("KEY", value)


# -- project names -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["churn-model", "a", "Model 2.0", "x_y", "9lives", "a" * 100])
def test_valid_project_names(name: str) -> None:
    assert check_project_name(name) == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "empty or has surrounding spaces"),
        (" a", "empty or has surrounding spaces"),
        ("a ", "empty or has surrounding spaces"),
        ("a" * (PROJECT_NAME_MAX + 1), "over 100"),
        ("-a", "characters other than"),
        ("a/b", "characters other than"),
        ("a\x00", "characters other than"),
    ],
)
def test_bad_project_names(name: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_project_name(name)
    assert message in caught.value.detail
    assert caught.value.where == "name"


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("model accuracy", None),
        ("val/loss (best): x", None),
        ("précision", None),
        ("", "is empty"),
        (" acc", "starts or ends with a space"),
        ("acc ", "starts or ends with a space"),
        ("a\tb", "holds a control character"),
        ("k" * 256, "is 256 characters long, over 255"),
    ],
)
def test_tag_and_param_keys_follow_cnvrg(key: str, problem: str | None) -> None:
    assert value_key_problem(key) == problem


def test_env_part_is_the_seeds_rule() -> None:
    assert env_part("model accuracy") == "MODEL_ACCURACY"
    assert env_part("val-loss.2") == "VAL_LOSS_2"

"""Names that flow between tasks (CONTRACT, Inside a task) and ``{{ task.tag }}`` references."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.flowspec import (
    cnvrg_aliases,
    folder_name,
    input_env_name,
    passed_condition_env,
    tag_env_name,
)
from headwater.domain.flowspec.templates import find_refs, has_refs, substitute


@pytest.mark.parametrize(
    ("title", "folder"),
    [
        ("Processing the Data", "processing_the_data"),
        ("Task A", "task_a"),
        ("Dynamic [?]", "dynamic_"),
        ("winning-task #1", "winningtask_1"),
        ("  Trim me ", "trim_me"),
    ],
)
def test_folder_names_follow_the_seed(title: str, folder: str) -> None:
    assert folder_name(title) == folder


def test_env_names_follow_the_contract() -> None:
    assert input_env_name("Processing the Data") == "INPUT_PROCESSING_THE_DATA"
    assert tag_env_name("Task A", "model accuracy") == "HW_TASK_A_MODEL_ACCURACY"
    assert tag_env_name("Task A", "val.loss-2") == "HW_TASK_A_VAL_LOSS_2"
    assert passed_condition_env(["a", "b"], "/input", cnvrg=False) == {
        "HW_TASKS_PASSED_CONDITION": "/input/a,/input/b"
    }
    # seed 002: unmodified cnvrg scripts read CNVRG_TASKS_PASSED_CONDITION
    assert passed_condition_env(["a", "b"], "/input") == {
        "HW_TASKS_PASSED_CONDITION": "/input/a,/input/b",
        "CNVRG_TASKS_PASSED_CONDITION": "/input/a,/input/b",
    }


def test_cnvrg_aliases_spell_every_tag_variable_the_seed_way() -> None:
    env = {"HW_TAG_MODEL_ACCURACY": "0.9", "HW_TASK_A_LOSS": "1", "PATH": "/bin"}
    assert cnvrg_aliases(env) == {"CNVRG_TAG_MODEL_ACCURACY": "0.9", "CNVRG_TASK_A_LOSS": "1"}


@given(st.text())
def test_folder_and_env_names_are_always_safe(title: str) -> None:
    assert set(folder_name(title)) <= set("abcdefghijklmnopqrstuvwxyz0123456789_")
    assert set(input_env_name(title)) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
    assert set(tag_env_name(title, title)) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


@pytest.mark.parametrize(
    "text",
    ["{{ Task A.model accuracy }}", "{ { Task A.model accuracy } }", "{{Task A.model accuracy}}"],
)
def test_both_brace_spellings(text: str) -> None:
    (ref,) = find_refs(text)
    assert (ref.task, ref.tag, ref.hyper) == ("Task A", "model accuracy", False)


def test_hyper_and_titles_with_dots() -> None:
    (ref,) = find_refs("{ { v1.2 model.acc.top | hyper } }", ["v1.2 model", "v1"])
    assert (ref.task, ref.tag, ref.hyper) == ("v1.2 model", "acc.top", True)
    assert str(ref) == "{{ v1.2 model.acc.top | hyper }}"


def test_substitution_keeps_the_rest_of_the_text() -> None:
    text = "lr={{ A.lr }}, bs={ { B.bs } }"
    refs = find_refs(text)
    assert substitute(text, refs, lambda r: r.task.lower()) == "lr=a, bs=b"
    assert not has_refs("plain {value}")
    assert has_refs(text)

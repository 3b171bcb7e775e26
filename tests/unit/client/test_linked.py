"""``project.yml`` read without YAML (issue 18): where the fast reader answers, YAML agrees."""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from headwater.client.linked import (
    project_file,
    read_project_file,
    simple_mapping,
    write_project_file,
)
from headwater.domain.errors import InvalidInput

# What `hw` writes for names people give projects, and ids as the server makes them.
IDS = st.builds(lambda n: secrets.token_hex(6), st.integers()) | st.from_regex(
    r"[0-9a-f]{12}", fullmatch=True
)
PLAIN_NAMES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,40}", fullmatch=True)


def written(tmp: Path, project_id: str, name: str) -> str:
    return write_project_file(tmp, project_id, name).read_text()


@settings(max_examples=300, deadline=None)
@given(project_id=IDS | st.text(max_size=30), name=st.text(max_size=120))
def test_on_every_file_headwater_writes_the_fast_reader_agrees_with_yaml_or_steps_aside(
    tmp_path_factory: pytest.TempPathFactory, project_id: str, name: str
) -> None:
    text = written(tmp_path_factory.mktemp("w"), project_id, name)
    fast = simple_mapping(text)
    if fast is not None:
        assert fast == yaml.safe_load(text)


@settings(max_examples=300, deadline=None)
@given(project_id=IDS, name=PLAIN_NAMES)
@example(project_id="123456789012", name="a  b")  # an id that reads as a number is quoted
@example(project_id="0ed20265bde9", name="x ")
@example(project_id="0ed20265bde9", name="1.5")
def test_the_usual_file_is_read_without_yaml(
    tmp_path_factory: pytest.TempPathFactory, project_id: str, name: str
) -> None:
    """An id from the server and a name in plain words: the fast reader answers, never YAML
    (a name with trailing or doubled spaces, or that reads as a number, comes back quoted)."""
    text = written(tmp_path_factory.mktemp("w"), project_id, name)
    assert simple_mapping(text) == {"id": project_id, "name": name} == yaml.safe_load(text)


# Lines near the form, with what trips a hand-written reader: YAML's other scalar kinds
# (bools, nulls, numbers, dates), quotes, escapes, comments, colons, tabs, indentation.
TRICKY = st.sampled_from(
    [
        "id", "name", "on", "yes", "No", "null", "~", "1", "0x1f", "017", "1_0", "1.5", ".inf",
        "2001-12-14", "1:20", "<<", "=", "a b", "a  b", "a #c", "#c", "'x'", "'it''s'", "'a\\b'",
        '"x"', '"\\u00e9"', "a:b", "a: b", "-x", "x-", "@x", "é", "\t", " ", "", "p-1.2/3+4@5",
    ]
)  # fmt: skip
LINES = st.one_of(
    st.builds(lambda k, v: f"{k}: {v}", TRICKY, TRICKY),
    st.builds(lambda k, v: f"{k}:{v}", TRICKY, TRICKY),
    st.builds(lambda k, v: f"  {k}: {v}", TRICKY, TRICKY),
    TRICKY.map(lambda s: f"# {s}"),
    st.sampled_from(["", "---", "...", "id:", "- a", "id: a\r", "name: a ", "{id: a}"]),
)


@settings(max_examples=1000, deadline=None)
@given(lines=st.lists(LINES, max_size=5))
def test_on_any_other_text_it_agrees_with_yaml_or_steps_aside(lines: list[str]) -> None:
    text = "\n".join(lines)
    fast = simple_mapping(text)
    if fast is None:
        return
    assert fast == yaml.safe_load(text), text


@pytest.mark.parametrize(
    "text",
    [
        "id: yes\n",  # a bool
        "id: 123\n",  # an int
        "id: 1.5\n",  # a float
        "id: null\n",
        "id: 2001-12-14\n",  # a date
        'id: "abc"\n',  # double quotes (escapes)
        "id: abc # linked\n",  # a comment after the value
        "id: abc\nid: abd\n",  # twice
        "  id: abc\n",  # indented
        "id: abc\r\n",
        "---\nid: abc\n",
        "id: a long name\n  folded on\n",
        "".join(f"k{i}: v\n" for i in range(17)),  # more fields than Headwater writes
    ],
)
def test_what_it_steps_aside_for(text: str) -> None:
    assert simple_mapping(text) is None


def test_it_reads_up_to_sixteen_fields() -> None:
    text = "".join(f"k{i}: v{i}\n" for i in range(16))
    assert simple_mapping(text) == yaml.safe_load(text)


def test_a_file_it_steps_aside_for_is_still_read_with_yaml(tmp_path: Path) -> None:
    path = project_file(tmp_path)
    path.parent.mkdir()
    path.write_text('id: "abc"  # quoted\nname: 12\n')
    assert read_project_file(tmp_path) == {"id": "abc", "name": "12"}
    path.write_text("id: [unclosed\n")
    with pytest.raises(InvalidInput, match="is not valid YAML"):
        read_project_file(tmp_path)
    path.write_text("# nothing else\n")
    with pytest.raises(InvalidInput, match="names no project id"):
        read_project_file(tmp_path)


def test_reading_a_linked_folder_does_not_import_yaml(tmp_path: Path) -> None:
    write_project_file(tmp_path, "0ed20265bde9", "my project")
    code = (
        "import sys; from pathlib import Path; from headwater.client.linked import "
        f"read_project_file; print(read_project_file(Path({str(tmp_path)!r}))['id'], "
        "'yaml' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["0ed20265bde9", "False"]

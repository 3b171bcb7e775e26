"""``live.yaml`` (seed 003, live mode): parsing, every error's FILE:LINE key, job statuses."""

from __future__ import annotations

import subprocess

import pytest

from headwater.domain.errors import NotFound
from headwater.domain.jobs import JobState
from headwater.domain.live import (
    LiveSpecError,
    LiveStatus,
    job_of_title,
    job_title,
    live_status,
    parse_live,
)

SRC = ".headwater/live.yaml"

FULL = """\
kind: live
jobs:
  train:
    cmd: python train.py --epochs 3
    preset: cpu-small
    env:
      LR: "0.01"
      NAME: it's mine
  jupyter:
    command: jupyter notebook --port $HW_HTTP_PORT
    image: ghcr.io/acme/jupyter:latest
    compute: [gpu, cpu-large]
    volumes:
      - storage:data:/data:ro
    http_port: 8888
    detach: no
"""


def problems(text: str) -> LiveSpecError:
    with pytest.raises(LiveSpecError) as caught:
        parse_live(text, source=SRC)
    return caught.value


def test_a_full_file_parses_in_order_with_both_spellings() -> None:
    spec = parse_live(FULL, source=SRC)
    assert list(spec.jobs) == ["train", "jupyter"]
    train, jupyter = spec.job("train"), spec.job("jupyter")
    assert train.command == "python train.py --epochs 3"
    assert train.computes == ("cpu-small",)
    assert dict(train.env) == {"LR": "0.01", "NAME": "it's mine"}
    assert train.http_port is None
    assert train.detach
    assert train.unsupported == ()
    assert train.title == "live:train"
    assert jupyter.computes == ("gpu", "cpu-large")
    assert jupyter.http_port == 8888
    assert not jupyter.detach
    assert jupyter.image == "ghcr.io/acme/jupyter:latest"
    assert jupyter.volumes == ("storage:data:/data:ro",)
    assert [(u.key, u.where) for u in jupyter.unsupported] == [
        ("image", f"{SRC}:11 jobs.jupyter.image"),
        ("volumes", f"{SRC}:13 jobs.jupyter.volumes"),
    ]


def test_kind_is_optional_and_a_list_command_is_joined_for_the_shell() -> None:
    spec = parse_live("jobs:\n  a:\n    cmd: [echo, two words]\n", source=SRC)
    assert spec.job("a").command == "echo 'two words'"


def test_the_shell_command_exports_env_and_the_port_so_the_command_sees_them() -> None:
    job = parse_live(FULL, source=SRC).job("train")
    script = job.shell_command()
    assert script.startswith("export ")
    out = subprocess.run(
        ["/bin/sh", "-c", script.replace(job.command, 'echo "$LR|$NAME"')],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == "0.01|it's mine\n"
    jupyter = parse_live(FULL, source=SRC).job("jupyter")
    assert jupyter.environment() == {"HW_HTTP_PORT": "8888"}
    plain = parse_live("jobs:\n  a:\n    cmd: echo hi\n", source=SRC).job("a")
    assert plain.shell_command() == "echo hi"


def test_an_unknown_job_lists_the_defined_ones() -> None:
    with pytest.raises(NotFound) as caught:
        parse_live(FULL, source=SRC).job("tensorboard")
    assert caught.value.hint is not None
    assert "train, jupyter" in caught.value.hint


@pytest.mark.parametrize(
    ("text", "where", "needle"),
    [
        ("jobs:\n  a:\n    cmd: x\n    comand: y\n", f"{SRC}:4 jobs.a.comand", "'command'"),
        ("jobs:\n  a:\n    image: x\n", f"{SRC}:2 jobs.a", "has no command"),
        ("jobs:\n  a:\n    cmd: ''\n", f"{SRC}:3 jobs.a.cmd", "empty"),
        ("jobs:\n  a:\n    cmd: x\n    command: y\n", f"{SRC}:4 jobs.a.command", "both"),
        ("jobs:\n  9lives:\n    cmd: x\n", f"{SRC}:2 jobs.9lives", "not a valid name"),
        ("jobs:\n  a b:\n    cmd: x\n", f"{SRC}:2 jobs.a b", "not a valid name"),
        ("jobs:\n  a:\n    cmd: x\n    http_port: 70000\n", f"{SRC}:4 jobs.a.http_port", "port"),
        ("jobs:\n  a:\n    cmd: x\n    http_port: web\n", f"{SRC}:4 jobs.a.http_port", "port"),
        ("jobs:\n  a:\n    cmd: x\n    http_port: -1\n", f"{SRC}:4 jobs.a.http_port", "port"),
        ("jobs:\n  a:\n    cmd: x\n    env: [A]\n", f"{SRC}:4 jobs.a.env", "mapping"),
        ("jobs:\n  a:\n    cmd: x\n    env:\n      1A: x\n", f"{SRC}:5 jobs.a.env.1A", "name"),
        ("jobs:\n  a:\n    cmd: x\n    env:\n      A:\n", f"{SRC}:5 jobs.a.env.A", "value"),
        ("jobs:\n  a:\n    cmd: x\n    detach: maybe\n", f"{SRC}:4 jobs.a.detach", "true or"),
        ("jobs:\n  a:\n    cmd: x\n    preset: {}\n", f"{SRC}:4 jobs.a.preset", "template"),
        ("jobs:\n  a:\n    cmd: x\n    volumes: x\n", f"{SRC}:4 jobs.a.volumes", "list"),
        (
            "jobs:\n  a:\n    cmd: x\n    http_port: 1\n    env:\n      HW_HTTP_PORT: '2'\n",
            f"{SRC}:6 jobs.a.env.HW_HTTP_PORT",
            "http_port",
        ),
        ("kind: batch\njobs:\n  a:\n    cmd: x\n", f"{SRC}:1 kind", "not 'live'"),
        ("kind: live\n", f"{SRC}:1 jobs", "missing required key 'jobs'"),
        ("jobs: []\n", f"{SRC}:1 jobs", "not a mapping"),
        ("jobz:\n  a:\n    cmd: x\n", f"{SRC}:1 jobz", "'jobs'"),
        ("- a\n", f"{SRC}:1 (top level)", "no mapping"),
        ("jobs:\n  a:\n    cmd: x\n  a:\n    cmd: y\n", f"{SRC}:4 jobs.a", "twice"),
        ("jobs:\n  a:\n   cmd: [x\n", f"{SRC}:4", "not valid YAML"),
    ],
)
def test_every_error_names_file_line_and_key_and_how_to_fix(
    text: str, where: str, needle: str
) -> None:
    error = problems(text)
    assert error.where is not None
    assert error.where.startswith(where), (error.where, where)
    assert needle in str(error), str(error)
    assert error.hint


def test_all_problems_come_at_once_in_file_order() -> None:
    error = problems("jobs:\n  a:\n    cmd: x\n    http_port: 0\n  b:\n    imag: y\n    cmd: z\n")
    assert error.wheres() == [f"{SRC}:4 jobs.a.http_port", f"{SRC}:6 jobs.b.imag"]
    assert "2 problems" in error.detail


@pytest.mark.parametrize(
    ("state", "status"),
    [
        (None, LiveStatus.UNKNOWN),
        (JobState.PENDING_APPROVAL, LiveStatus.PENDING),
        (JobState.QUEUED, LiveStatus.PENDING),
        (JobState.INITIALIZING, LiveStatus.PENDING),
        (JobState.RUNNING, LiveStatus.RUNNING),
        (JobState.SUCCESS, LiveStatus.SUCCEEDED),
        (JobState.FAILED, LiveStatus.FAILED),
        (JobState.ABORTED, LiveStatus.CANCELLED),
    ],
)
def test_statuses_map_from_job_states(state: JobState | None, status: LiveStatus) -> None:
    assert live_status(state) is status
    assert status.active == (status in (LiveStatus.PENDING, LiveStatus.RUNNING))


def test_every_job_state_has_a_status() -> None:
    assert {live_status(s) for s in JobState} == set(LiveStatus) - {LiveStatus.UNKNOWN}


def test_titles_mark_live_jobs_and_nothing_else() -> None:
    assert job_of_title(job_title("train")) == "train"
    assert job_of_title("my experiment") is None

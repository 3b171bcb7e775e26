"""A TensorBoard task's ``--logdir_spec`` (each experiment's logs named by its number) and its
live folders: only this worker's own task folders, whatever the spec says."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from headwater.runtime.reporting import TaskApi
from headwater.runtime.task import Task
from headwater.runtime.tensorboard import logdir_spec
from headwater.runtime.workspace import SetupFailed
from headwater.schemas.experiments import TaskSpec


def test_committed_and_live_logs_are_named_by_experiment_number(tmp_path: Path) -> None:
    for number in ("10", "3"):
        (tmp_path / "input" / number / "tensorboard").mkdir(parents=True)
    spec = logdir_spec(tmp_path, "7=/work/e7/output")
    assert spec == (f"3:{tmp_path}/input/3,10:{tmp_path}/input/10,7:/work/e7/output")


def test_no_logs_at_all_is_an_empty_folder_not_an_error(tmp_path: Path) -> None:
    assert logdir_spec(tmp_path, "") == f"none:{tmp_path}/no-logs"
    assert (tmp_path / "no-logs").is_dir()


def _task(tmp_path: Path) -> Task:
    api = cast(TaskApi, SimpleNamespace(experiment_id="board"))
    return Task(api, tmp_path / "work", tmp_path / "cache", threading.Event(), None)


def _spec(live: dict[str, str]) -> TaskSpec:
    return cast(TaskSpec, SimpleNamespace(live_logs=live))


def test_a_live_folder_is_one_of_this_workers_own_task_folders(tmp_path: Path) -> None:
    task = _task(tmp_path)
    found = task.live_folders(_spec({"7": "e7/output"}))
    assert found == {"7": (tmp_path / "work" / "e7" / "output").resolve()}


@pytest.mark.parametrize("where", ["../e7/output", "e7/../../etc", "/etc/output", "./output"])
def test_a_live_folder_outside_its_task_is_refused(tmp_path: Path, where: str) -> None:
    (tmp_path / "work" / "e7").mkdir(parents=True)
    with pytest.raises(SetupFailed):
        _task(tmp_path).live_folders(_spec({"7": where}))


def test_a_task_that_made_its_output_a_link_elsewhere_is_refused(tmp_path: Path) -> None:
    (tmp_path / "work" / "e7").mkdir(parents=True)
    (tmp_path / "work" / "e7" / "output").symlink_to("/etc")
    with pytest.raises(SetupFailed):
        _task(tmp_path).live_folders(_spec({"7": "e7/output"}))

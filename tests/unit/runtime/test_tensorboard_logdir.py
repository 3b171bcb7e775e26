"""A TensorBoard task's ``--logdir_spec``: each experiment's logs named by its number."""

from __future__ import annotations

from pathlib import Path

from headwater.runtime.tensorboard import logdir_spec


def test_committed_and_live_logs_are_named_by_experiment_number(tmp_path: Path) -> None:
    for number in ("10", "3"):
        (tmp_path / "input" / number / "tensorboard").mkdir(parents=True)
    spec = logdir_spec(tmp_path, "7=/work/e7/output")
    assert spec == (f"3:{tmp_path}/input/3,10:{tmp_path}/input/10,7:/work/e7/output")


def test_no_logs_at_all_is_an_empty_folder_not_an_error(tmp_path: Path) -> None:
    assert logdir_spec(tmp_path, "") == f"none:{tmp_path}/no-logs"
    assert (tmp_path / "no-logs").is_dir()

"""``hw live`` end to end: jobs from ``.headwater/live.yaml`` run, listed, followed and killed."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Hw, unique
from tests.e2e.test_hw_cli import one_paragraph_error
from tests.e2e.test_hw_files import linked_folder

SHOW = "import os\nprint('lr=' + os.environ['LR'], 'port=' + os.environ['HW_HTTP_PORT'])\n"


def live_yaml(python: str) -> str:
    return f"""\
kind: live
jobs:
  train:
    cmd: {python} show.py
    env:
      LR: "0.5"
    http_port: 8888
  sleeper:
    cmd: sleep 60
  notebook:
    cmd: echo hi
    image: ghcr.io/acme/jupyter:1
"""


def wait_for(hw: Hw, folder: Path, job: str, *statuses: str) -> dict[str, Any]:
    """``hw live ps`` until ``job`` has one of ``statuses``; its row."""
    deadline = time.monotonic() + 60
    while True:
        rows: dict[str, dict[str, Any]] = {r["job"]: r for r in hw.json("live", "ps", cwd=folder)}
        row = rows[job]
        if row["status"] in statuses or time.monotonic() > deadline:
            assert row["status"] in statuses, row
            return row
        time.sleep(0.2)


def project_with_jobs(admin: Hw, tmp_path: Path) -> Path:
    folder, _ = linked_folder(
        admin,
        tmp_path,
        {"show.py": SHOW, ".headwater/live.yaml": live_yaml(sys.executable)},
    )
    return folder


def test_run_ps_and_logs_of_a_job_with_its_env_and_port(admin: Hw, tmp_path: Path) -> None:
    folder = project_with_jobs(admin, tmp_path)
    before = admin.json("live", "ps", cwd=folder)
    assert [(r["job"], r["status"], r["id"]) for r in before] == [
        ("train", "unknown", None),
        ("sleeper", "unknown", None),
        ("notebook", "unknown", None),
    ]
    table = admin("live", "ps", cwd=folder).stdout
    assert "N/A" in table
    assert "HTTP PORT" in table

    started = admin.json("live", "run", "train", cwd=folder)
    assert started["title"] == "live:train"
    row = wait_for(admin, folder, "train", "succeeded")
    assert row["id"] == started["id"]
    assert row["http_port"] == 8888
    assert row["when"]
    table = admin("live", "ps", cwd=folder).stdout
    assert started["id"] in table
    assert "succeeded" in table

    logs = admin("live", "logs", "train", cwd=folder).stdout
    assert "lr=0.5 port=8888" in logs
    assert "lr=0.5" in admin("live", "logs", "train", "-f", cwd=folder).stdout

    # a subfolder finds the file upwards; an ended job is not refused
    again = admin("live", "run", "train", "--no-sync", cwd=folder / ".headwater")
    assert "Started live job train on port 8888" in again.stdout
    assert started["id"] not in again.stdout


def test_a_long_job_is_refused_twice_and_killed_to_cancelled(admin: Hw, tmp_path: Path) -> None:
    folder = project_with_jobs(admin, tmp_path)
    first = admin.json("live", "run", "sleeper", "--no-sync", cwd=folder)
    wait_for(admin, folder, "sleeper", "running")
    refused = admin("live", "run", "sleeper", "--no-sync", cwd=folder, code=1)
    one_paragraph_error(refused, "already running", str(first["number"]), "--force")

    killed = admin("live", "kill", "sleeper", cwd=folder).stdout
    assert f"Killed live job sleeper (experiment {first['number']})" in killed
    row = wait_for(admin, folder, "sleeper", "cancelled")
    assert row["id"] == first["id"]
    again = admin("live", "kill", "sleeper", cwd=folder).stdout
    assert "nothing to kill" in again
    assert "never run" in admin("live", "kill", "notebook", cwd=folder).stdout

    forced = admin.json("live", "run", "sleeper", "--no-sync", "--force", cwd=folder)
    wait_for(admin, folder, "sleeper", "pending", "running")
    assert admin.json("live", "kill", "ALL", cwd=folder)[1]["killed"] is True
    assert wait_for(admin, folder, "sleeper", "cancelled")["id"] == forced["id"]


def test_image_is_named_in_a_warning_and_unknown_jobs_list_the_defined(
    admin: Hw, tmp_path: Path
) -> None:
    folder = project_with_jobs(admin, tmp_path)
    live = folder / ".headwater" / "live.yaml"
    done = admin("live", "run", "notebook", "--no-sync", cwd=folder)
    assert f"Warning: {live}:12 jobs.notebook.image: image is not supported yet" in done.stderr
    wait_for(admin, folder, "notebook", "succeeded")

    unknown = admin("live", "run", "tensorboard", cwd=folder, code=1)
    one_paragraph_error(unknown, "tensorboard", "train, sleeper, notebook")
    never = admin("live", "logs", "sleeper", cwd=folder, code=1)
    one_paragraph_error(never, "never run", "hw live run sleeper")


def test_an_invalid_live_yaml_names_file_line_and_key(admin: Hw, tmp_path: Path) -> None:
    folder = project_with_jobs(admin, tmp_path)
    live = folder / ".headwater" / "live.yaml"
    live.write_text("jobs:\n  train:\n    cmd: python train.py\n    http_port: 99999\n")
    for args in (("live", "ps"), ("live", "run", "train")):
        bad = admin(*args, cwd=folder, code=1)
        one_paragraph_error(bad, f"{live}:4 jobs.train.http_port", "65535")
    live.write_text("jobs:\n  train:\n    comand: python train.py\n")
    bad = admin("live", "ps", cwd=folder, code=1)
    one_paragraph_error(bad, f"{live}:3 jobs.train.comand", "'command'")
    nowhere = admin("live", "ps", cwd=tmp_path, code=1)
    one_paragraph_error(nowhere, ".headwater/live.yaml")


def test_the_default_template_has_a_train_job_that_runs(admin: Hw, tmp_path: Path) -> None:
    name = unique("livetpl")
    admin.json("new", name, cwd=tmp_path)
    folder = tmp_path / name
    assert [r["job"] for r in admin.json("live", "ps", cwd=folder)] == ["train"]
    done = admin("live", "run", "train", "--follow", cwd=folder)
    assert "epoch 3: loss 0.333" in done.stdout
    assert "Live job train succeeded." in done.stdout

"""``hw run``, ``hw experiments`` and ``hw status`` end to end, as a user types them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.e2e.conftest import Hw
from tests.e2e.test_hw_cli import one_paragraph_error
from tests.e2e.test_hw_files import linked_folder

TRAIN = """\
import sys
lr = sys.argv[sys.argv.index('--lr') + 1]
print('hw_tag_score:', float(lr) * 10)
for step in range(5):
    print('hw_linechart_loss value:', 1 / (step + 1))
open('output/lr.txt', 'w').write(lr)
"""


def test_a_grid_from_a_linked_folder_runs_waits_and_reports(admin: Hw, tmp_path: Path) -> None:
    folder, project = linked_folder(admin, tmp_path, {"train.py": TRAIN})
    # --json before `--`: everything after it is the command
    made = admin(
        "run",
        "--json",
        "--param",
        "lr=0.1,0.5",
        "--wait",
        "--",
        sys.executable,
        "train.py",
        cwd=folder,
    ).json()
    assert [e["params"] for e in made] == [{"lr": "0.1"}, {"lr": "0.5"}]
    assert [e["state"] for e in made] == ["success", "success"]
    assert [e["tags"]["score"] for e in made] == ["1.0", "5.0"]

    listed = admin.json("experiments", "list", "-p", project)
    assert listed["total"] == 2
    number = str(made[0]["number"])
    shown = admin.json("experiments", "show", number, "-p", project)
    assert shown["latest_metrics"] == {"loss": 0.2}
    metrics = admin.json("experiments", "metrics", number, "-p", project)
    assert metrics[0]["values"] == [1.0, 0.5, 1 / 3, 0.25, 0.2]
    logs = admin("experiments", "logs", number, "-p", project).stdout
    assert "hw_tag_score: 1.0" in logs
    table = admin("experiments", "list", "-p", project).stdout
    assert "success" in table
    assert "lr=0.5" in table
    chart = admin("experiments", "metrics", number, "-p", project).stdout
    assert "loss" in chart
    assert "█" in chart  # the sparkline

    # --filter and --sort on any param, tag or metric, evaluated by the server
    found = admin.json("experiments", "list", "-p", project, "--filter", "score > 2")
    assert [e["params"] for e in found["items"]] == [{"lr": "0.5"}]
    best = admin.json("experiments", "list", "-p", project, "--sort", "tags.score", "--desc")
    assert [e["params"]["lr"] for e in best["items"]] == ["0.5", "0.1"]
    low = admin.json("experiments", "list", "-p", project, "--sort", "lr", "--limit", "1")
    assert [e["params"]["lr"] for e in low["items"]] == ["0.1"]  # lowest first without --desc
    assert low["items"][0]["metrics"]["loss"] == {"latest": 0.2, "min": 0.2, "max": 1.0}
    bad = admin("experiments", "list", "-p", project, "--filter", "los.min < 1", code=1)
    one_paragraph_error(bad, "filter, column 1")
    assert "loss" in bad.stderr  # did you mean


def test_run_exits_1_when_an_experiment_fails_and_status_shows_the_machine(
    admin: Hw, tmp_path: Path
) -> None:
    folder, _ = linked_folder(admin, tmp_path, {"fail.py": "raise SystemExit(4)\n"})
    failed = admin(
        "run", "--wait", "--no-sync", "--", sys.executable, "fail.py", cwd=folder, code=1
    )
    assert "exit code 4" in failed.stdout
    status = admin.json("status")
    assert status["total"]["cpus"] >= 1
    assert "storage_used_bytes" in status
    assert "CPU cores" in admin("status").stdout


def test_bad_parameters_say_how_to_write_them(admin: Hw, tmp_path: Path) -> None:
    folder, _ = linked_folder(admin, tmp_path, {"a.py": "print(1)\n"})
    bad = admin("run", "--param", "lr", "--", "python", "a.py", cwd=folder, code=1)
    one_paragraph_error(bad, "--param")
    assert "--param lr=0.1,0.01" in bad.stderr
    grid = folder / "grid.yaml"
    grid.write_text("parameters:\n  - key: lr\n    type: float\n    min: 1\n    max: 0\n")
    bad = admin("run", "--grid", str(grid), "--", "python", "a.py", cwd=folder, code=1)
    assert f"{grid}:2" in bad.stderr


def test_several_arguments_are_one_argv_and_one_argument_is_a_shell_line(
    admin: Hw, tmp_path: Path
) -> None:
    folder, project = linked_folder(admin, tmp_path, {"a.py": "print(1)\n"})
    made = admin(
        "run",
        "--json",
        "--wait",
        "--no-sync",
        "--",
        sys.executable,
        "-c",
        "import sys; print('ok', sys.argv[1:])",
        "my model",
        "$HOME",
        cwd=folder,
    ).json()
    assert made[0]["state"] == "success"
    logs = admin("experiments", "logs", str(made[0]["number"]), "-p", project).stdout
    assert "ok ['my model', '$HOME']" in logs
    # one argument is a shell command line, as before: its pipe and variable are the shell's
    shell = admin(
        "run", "--json", "--wait", "--no-sync", "--", "echo piped | tr a-z A-Z", cwd=folder
    ).json()
    assert shell[0]["state"] == "success"
    logs = admin("experiments", "logs", str(shell[0]["number"]), "-p", project).stdout
    assert "PIPED" in logs


def test_logs_of_an_experiment_that_never_ran_say_so(admin: Hw, tmp_path: Path) -> None:
    folder, project = linked_folder(admin, tmp_path, {"a.py": "print(1)\n"})
    whole = f"whole{tmp_path.name[-6:]}".replace("_", "")
    cpus = str(admin.json("status")["total"]["cpus"])
    admin("compute", "create", whole, "--cpus", cpus, "--memory", "1")  # the whole machine
    sleeper, queued = (
        admin("run", "--json", "--compute", whole, "--no-sync", "--", *command, cwd=folder).json()[
            0
        ]["number"]
        for command in ((sys.executable, "-c", "import time; time.sleep(60)"), ("echo", "hi"))
    )
    assert admin.json("experiments", "show", str(queued), "-p", project)["state"] == "queued"
    admin("experiments", "stop", str(queued), "-p", project)
    admin("experiments", "stop", str(sleeper), "-p", project)
    for args in (("-f",), ()):
        said = admin("experiments", "logs", str(queued), *args, "-p", project)
        assert said.stdout == ""
        assert said.stderr == f"Experiment {queued} never ran: it was stopped while queued.\n"
    # one that no compute fits ends failed at once, and says why
    huge = f"huge{tmp_path.name[-6:]}".replace("_", "")
    admin("compute", "create", huge, "--cpus", "100000", "--memory", "1")
    failed = admin(
        "run",
        "--json",
        "--wait",
        "--compute",
        huge,
        "--no-sync",
        "--",
        "echo",
        "hi",
        cwd=folder,
        code=1,
    )
    number = str(json.loads(failed.stdout)[0]["number"])
    said = admin("experiments", "logs", number, "-f", "-p", project)
    assert "never ran: it ended failed before it started (no compute" in said.stderr


def test_run_mounts_a_datasets_version_by_commit(admin: Hw, tmp_path: Path) -> None:
    folder, project = linked_folder(admin, tmp_path, {"a.py": "print(1)\n"})
    source = tmp_path / "rows"
    source.mkdir()
    (source / "rows.csv").write_text("first\n")
    admin("dataset", "create", "rows", "-p", project)
    v1 = admin.json("dataset", "push", "rows", str(source), "-p", project)["commit"]["id"]
    (source / "rows.csv").write_text("second\n")
    admin("dataset", "push", "rows", str(source), "-p", project)
    made = admin(
        "run", "--json", "--wait", "--no-sync", "--dataset", f"rows@{v1[:8]}",
        "--", "cat data/rows/rows.csv", cwd=folder,
    ).json()  # fmt: skip
    logs = admin("experiments", "logs", str(made[0]["number"]), "-p", project).stdout
    assert "first" in logs
    assert "second" not in logs
    bad = admin("run", "--dataset", "rows:", "--no-sync", "--", "true", cwd=folder, code=1)
    one_paragraph_error(bad, "options.datasets[0]")
    assert "NAME@COMMIT or NAME:QUERY" in bad.stderr


def test_status_jobs_lists_who_what_and_on_which_compute(admin: Hw, tmp_path: Path) -> None:
    folder, project = linked_folder(admin, tmp_path, {"a.py": "print(1)\n"})
    made = admin(
        "run",
        "--json",
        "--no-sync",
        "--title",
        "sleeper",
        "--",
        sys.executable,
        "-c",
        "import time; time.sleep(60)",
        cwd=folder,
    ).json()[0]
    try:
        listed = admin.json("status", "--jobs", "--limit", "500")
        job = next(j for j in listed["items"] if j["id"] == made["id"])
        assert job["created_by_name"] == "admin"
        assert job["title"] == "sleeper"
        assert job["compute"] == "default"
        assert (
            listed["computes"]["default"]["active_jobs"]
            + listed["computes"]["default"]["pending_jobs"]
            >= 1
        )
        table = admin("status", "--jobs", "--limit", "500").stdout
        assert "sleeper" in table
        assert "COMPUTE" in table
    finally:
        admin("experiments", "stop", str(made["number"]), "-p", project)

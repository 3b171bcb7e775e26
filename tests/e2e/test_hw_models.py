"""``hw model register`` and ``hw model versions`` end to end: a real experiment's outputs become
model versions that say which experiment, params and metrics they came from (issue 12)."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.e2e.conftest import Hw
from tests.e2e.test_hw_cli import one_paragraph_error
from tests.e2e.test_hw_files import linked_folder

TRAIN = """\
import os, sys
lr = sys.argv[sys.argv.index('--lr') + 1]
print('hw_linechart_accuracy value:', 0.9)
os.makedirs('output/extra', exist_ok=True)
open('output/model.json', 'w').write('{"lr": %s}' % lr)
open('output/extra/notes.txt', 'w').write('notes')
"""


def test_register_an_experiments_outputs_and_see_where_versions_came_from(
    admin: Hw, tmp_path: Path
) -> None:
    folder, project = linked_folder(admin, tmp_path, {"train.py": TRAIN})
    made = admin(
        "run", "--json", "--param", "lr=0.5", "--wait", "--", sys.executable, "train.py", cwd=folder
    ).json()
    assert [e["state"] for e in made] == ["success"]
    number = str(made[0]["number"])

    whole = admin.json("model", "register", "churn", "--from-experiment", number, "-p", project)
    assert whole["files"] == 2
    assert whole["source"]["experiment_number"] == int(number)
    assert whole["source"]["params"] == {"lr": "0.5"}
    assert whole["source"]["metrics"] == {"accuracy": 0.9}
    said = admin(
        "model", "register", "churn", "--from-experiment", number,
        "--path", "output/model.json", "-p", project,
    ).stdout  # fmt: skip
    assert f"Registered experiment {number} as model churn" in said
    assert "(1 file(s))" in said

    versions = admin.json("model", "versions", "churn", "-p", project)
    assert [v["files"] for v in versions] == [1, 2]
    assert [v["source"]["path"] for v in versions] == ["output/model.json", "output"]
    table = admin("model", "versions", "churn", "-p", project).stdout
    assert "EXPERIMENT" in table
    assert f"#{number}" in table
    pulled = tmp_path / "pulled"
    admin("model", "pull", "churn", str(pulled), "-p", project)
    assert (pulled / "model.json").read_text() == '{"lr": 0.5}'
    assert [m["name"] for m in admin.json("model", "list", "-p", project)] == ["churn"]

    outside = admin(
        "model", "register", "churn", "--from-experiment", number, "--path", "train.py",
        "-p", project, code=1,
    )  # fmt: skip
    one_paragraph_error(outside, "output folder")

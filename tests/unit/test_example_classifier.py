"""The bundled example that `hw demo` runs: it trains for real and the learning rate matters."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import headwater

EXAMPLE = Path(headwater.__file__).parent / "examples" / "classifier"


def train(tmp_path: Path, *args: str) -> tuple[dict[str, str], list[str], dict[str, object]]:
    work = tmp_path / "work"
    shutil.copytree(EXAMPLE, work, dirs_exist_ok=True)
    done = subprocess.run(
        [sys.executable, "train.py", *args, "--unknown-grid-param", "x"],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    lines = done.stdout.splitlines()
    tags = dict(
        line[len("hw_tag_") :].split(": ", 1) for line in lines if line.startswith("hw_tag_")
    )
    charts = [line for line in lines if line.startswith("hw_linechart_")]
    model = json.loads((work / "output" / "model.json").read_text())
    shutil.rmtree(work)
    return tags, charts, model


def test_the_data_set_is_the_whole_iris_data() -> None:
    rows = (EXAMPLE / "data" / "iris.csv").read_text().splitlines()
    assert rows[0] == "150,4,setosa,versicolor,virginica"
    classes = [row.rsplit(",", 1)[1] for row in rows[1:]]
    assert [classes.count(c) for c in "012"] == [50, 50, 50]


def test_it_learns_and_writes_a_model(tmp_path: Path) -> None:
    tags, charts, model = train(tmp_path, "--lr", "0.5")
    assert float(tags["accuracy"]) >= 0.9
    assert len(charts) >= 10
    assert model["classes"] == ["setosa", "versicolor", "virginica"]
    assert model["test_accuracy"] == float(tags["accuracy"])
    assert len(model["weights"]) == 3


def test_the_default_grid_point_learns_and_records_everything(tmp_path: Path) -> None:
    tags, charts, model = train(tmp_path, "--lr", "0.1")
    assert float(tags["accuracy"]) >= 0.85
    assert len(charts) >= 5
    assert any(line.startswith("hw_linechart_loss value: ") for line in charts)
    assert any(line.startswith("hw_linechart_accuracy value: ") for line in charts)
    assert {
        "weights",
        "bias",
        "feature_means",
        "feature_stds",
        "classes",
        "lr",
        "epochs",
        "test_accuracy",
    } <= model.keys()
    assert (model["lr"], model["epochs"]) == (0.1, 200)
    assert len(model["feature_means"]) == len(model["feature_stds"]) == 4


def test_the_learning_rate_matters(tmp_path: Path) -> None:
    fast, _, _ = train(tmp_path, "--lr", "0.5")
    slow, _, _ = train(tmp_path, "--lr", "0.0001", "--epochs", "20")
    assert float(slow["loss"]) > float(fast["loss"]) + 0.3
    assert float(slow["accuracy"]) != float(fast["accuracy"])

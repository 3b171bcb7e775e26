"""A model version made from an experiment's outputs (issue 12): which files, under which names.

An experiment commits its output folder (``output/`` by default) on its own branch of the
project's files. Registering it as a model version takes the files under that folder, or under
``path`` (one file or folder inside it), and names them relative to the output folder, so
``output/model.pkl`` is ``model.pkl`` in the model and ``output/weights/a.bin`` is
``weights/a.bin``. No bytes move: the entries keep their hashes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from headwater.domain.errors import InvalidInput, NotFound
from headwater.domain.paths import check_path
from headwater.domain.trees import Entry, Tree


@dataclass(frozen=True)
class ModelSource:
    """Where a model version came from: the experiment, with its params and final metrics."""

    commit_id: str
    experiment_id: str
    experiment_number: int
    path: str
    created_at: datetime
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


# the experiment value kind that asks for a model version when the task ends well: model name
# -> the path within the output folder ("" for all of it); the SDK's log_model and a flow
# task's ``model:`` key record it, the server's model_registry registers it
MODEL_VALUES = "model"
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")  # as a model made by hand


def check_model_name(name: str) -> str:
    if not MODEL_NAME.match(name):
        raise InvalidInput(
            f"{name[:120]!r} is not a model name",
            where="name",
            hint="Use letters, digits, '_', '.' and '-', starting with a letter or digit "
            "(at most 100 characters), e.g. 'churn-model'.",
        )
    return name


def model_entries(outputs: Tree, output_dir: str, path: str | None = None) -> list[Entry]:
    """The entries of ``outputs`` under ``output_dir`` (or under ``path`` inside it), renamed
    relative to ``output_dir``; refuse a ``path`` outside the output folder or one that holds
    nothing, since a model version with no files is never what was meant."""
    folder = check_path(output_dir.strip("/"), where="output_dir").rstrip("/")
    root = folder + "/"
    wanted = check_path(path, where="path") if path else folder
    if wanted != folder and not wanted.startswith(root):
        raise InvalidInput(
            f"{wanted!r} is not inside the experiment's output folder {folder!r}",
            where="path",
            hint=f"Name a file or folder under {root}, e.g. {root}model.pkl.",
        )
    picked = [
        Entry(e.path[len(root) :], e.hash, e.size, e.mode)
        for e in outputs.entries
        if e.path == wanted or e.path.startswith(wanted + "/")
    ]
    if not picked:
        raise NotFound(
            f"the experiment's outputs hold nothing at {wanted!r}",
            where="path",
            hint="List them with `hw experiments show N`, or leave out --path.",
        )
    return picked

"""How a task's title becomes folder and variable names inside the tasks after it (seed 002).

Artifacts of ``Processing the Data`` land in ``input/processing_the_data/`` with
``INPUT_PROCESSING_THE_DATA``; its tag ``model accuracy`` reaches later tasks as
``HW_PROCESSING_THE_DATA_MODEL_ACCURACY``. One rule for the task part everywhere, so a task
has one name in every place it shows up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from headwater.domain.naming import env_part

_NOT_FOLDER = re.compile(r"[^a-z0-9_]")
PASSED_CONDITION = "HW_TASKS_PASSED_CONDITION"
CNVRG_PASSED_CONDITION = "CNVRG_TASKS_PASSED_CONDITION"


def folder_name(title: str) -> str:
    """Lowercase, spaces as underscores, other symbols removed: ``input/<this>/``."""
    return _NOT_FOLDER.sub("", title.strip().lower().replace(" ", "_"))


def input_env_name(title: str) -> str:
    """``INPUT_<TASK_NAME>``: holds the absolute path of ``input/<task_name>/``."""
    return "INPUT_" + folder_name(title).upper()


def tag_env_name(task: str, tag: str) -> str:
    """``HW_<TASKNAME>_<TAG>`` (seed: ``CNVRG_<TASKNAME>_<TAGNAME>``), all uppercase."""
    return f"HW_{folder_name(task).upper()}_{env_part(tag)}"


def upstream_tag_env(tags_by_task: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """Every tag of every earlier task in a route, as ``HW_<TASKNAME>_<TAG>``."""
    return {
        tag_env_name(task, key): value
        for task, tags in tags_by_task.items()
        for key, value in tags.items()
    }


def passed_condition_env(
    folders: Iterable[str], input_root: str, *, cnvrg: bool = True
) -> dict[str, str]:
    """``HW_TASKS_PASSED_CONDITION``: the input paths of the parents that passed, comma-joined,
    and the seed's ``CNVRG_TASKS_PASSED_CONDITION`` beside it unless ``cnvrg`` is off.

    Expansion knows folder names only; the runtime knows where ``input/`` is, so it passes
    ``input_root`` (``/input`` in containers, the workspace's ``input`` folder locally).
    """
    root = input_root.rstrip("/")
    paths = ",".join(f"{root}/{name}" for name in folders)
    out = {PASSED_CONDITION: paths}
    if cnvrg:
        out[CNVRG_PASSED_CONDITION] = paths
    return out


def cnvrg_aliases(env: Mapping[str, str]) -> dict[str, str]:
    """The seed's ``CNVRG_`` spelling of each tag variable in ``env`` (``HW_TAG_<KEY>``,
    ``HW_<TASK>_<TAG>``): unmodified cnvrg scripts read those names."""
    return {"CNVRG_" + k[3:]: v for k, v in env.items() if k.startswith("HW_")}

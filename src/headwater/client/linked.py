"""Which folder is linked to which project: ``.headwater/project.yml`` (seed 003).

A folder knows its project through that file, found from the working directory upwards, so
every command run anywhere inside the folder acts on the folder's project. It is kept apart
from ``workspace`` because the config resolution of every command reads it, and that must not
pay for the ignore-rule machinery.
"""

from __future__ import annotations

from pathlib import Path

from headwater.domain.errors import InvalidInput

META_DIR = ".headwater"
PROJECT_FILE = "project.yml"


def find_root(start: Path | None = None) -> Path | None:
    """The nearest folder, from ``start`` upwards, that holds ``.headwater/project.yml``."""
    try:
        here = (start or Path.cwd()).resolve()
    except OSError:  # the working directory was removed under us
        return None
    for folder in (here, *here.parents):
        if (folder / META_DIR / PROJECT_FILE).is_file():
            return folder
    return None


def project_file(root: Path) -> Path:
    return root / META_DIR / PROJECT_FILE


def read_project_file(root: Path) -> dict[str, str]:
    """The linked project's fields (``id`` at least), or a clean error naming the file."""
    import yaml  # here, not at import: only a linked folder's commands read YAML

    from headwater.domain import boundedyaml

    path = project_file(root)
    try:
        data = boundedyaml.safe_load(path.read_text(), source=str(path)) or {}
    except OSError as exc:
        raise InvalidInput(
            f"cannot read {path}: {exc.strerror or exc}",
            where=str(path),
            hint="Check its permissions, or link the folder again with `hw link`.",
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise InvalidInput(
            f"{path}{line} is not valid YAML",
            where=f"{path}{line}",
            hint="Fix the file, or link the folder again with `hw link`.",
        ) from exc
    if not isinstance(data, dict) or not str(data.get("id") or "").strip():
        raise InvalidInput(
            f"{path} names no project id",
            where=str(path),
            hint="Write `id: PROJECT_ID` in it, or link the folder again with `hw link`.",
        )
    return {str(k): str(v) for k, v in data.items()}


def write_project_file(root: Path, project_id: str, name: str) -> Path:
    """Link ``root`` to a project; return the file written."""
    import yaml

    path = project_file(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# Links this folder to its Headwater project. `hw` commands run inside the folder use\n"
        "# it, unless HEADWATER_PROJECT or --project says otherwise.\n"
        + yaml.safe_dump({"id": project_id, "name": name}, sort_keys=False)
    )
    return path


def linked_project(start: Path | None = None) -> tuple[str, Path] | None:
    """The project id of the folder around ``start`` and the file that says so, if any."""
    root = find_root(start)
    if root is None:
        return None
    return read_project_file(root)["id"], project_file(root)

"""Which folder is linked to which project: ``.headwater/project.yml`` (seed 003).

A folder knows its project through that file, found from the working directory upwards, so
every command run anywhere inside the folder acts on the folder's project. It is kept apart
from ``workspace`` because the config resolution of every command reads it, and that must not
pay for the ignore-rule machinery.
"""

from __future__ import annotations

import re
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


# The form Headwater writes (``write_project_file``): comment lines, then one ``key: value``
# line per field, each value a plain scalar or a single-quoted one (``yaml.safe_dump`` quotes a
# value that would read back as something else). Anything more (double quotes, escapes, a value
# folded over lines, a comment after a value, a tab) is left to YAML.
_LINE = re.compile(
    r"(?P<key>[A-Za-z_][A-Za-z0-9_]*): (?:"
    r"(?P<plain>[A-Za-z0-9_][A-Za-z0-9_./@+-]*(?: +[A-Za-z0-9_./@+-]+)*)"  # spaces inside
    r"|'(?P<quoted>(?:[ -&(-\[\]-~]|'')*)')"  # printable ASCII, '' for a quote, no backslash
)
# A plain scalar that YAML 1.1 (PyYAML's SafeLoader) reads as something other than text: its
# bool, float, int, merge, null, timestamp and value resolvers, copied from ``yaml.resolver``.
# Such a value (or key) is left to YAML, which decides what it is.
_NOT_TEXT = re.compile(
    r"""^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF
    |[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
    |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN)
    |[-+]?0b[0-1_]+
    |[-+]?0[0-7_]+
    |[-+]?(?:0|[1-9][0-9_]*)
    |[-+]?0x[0-9a-fA-F_]+
    |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
    |<<
    |~|null|Null|NULL|
    |[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
    |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
     (?:[Tt]|[ \t]+)[0-9][0-9]?
     :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
     (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?
    |=)$""",
    re.X,
)


MAX_SIMPLE_FIELDS = 16
"""More fields than this, and the file is left to YAML (``domain/boundedyaml.py``'s limits)."""


def simple_mapping(text: str) -> dict[str, str] | None:
    """``text`` read without YAML when it is in the form Headwater writes; else None (and
    the caller reads it with YAML). Where it answers, ``yaml.safe_load`` gives the same."""
    fields: dict[str, str] = {}
    for line in text.split("\n"):
        if line == "" or line.startswith("#"):
            continue
        found = _LINE.fullmatch(line)
        if found is None:
            return None
        key, plain, quoted = found["key"], found["plain"], found["quoted"]
        if _NOT_TEXT.match(key) or (plain is not None and _NOT_TEXT.match(plain)):
            return None
        if key in fields or len(fields) == MAX_SIMPLE_FIELDS:
            return None  # a file Headwater wrote has two, each once; YAML applies its limits
        fields[key] = plain if plain is not None else quoted.replace("''", "'")
    return fields or None


def read_project_file(root: Path) -> dict[str, str]:
    """The linked project's fields (``id`` at least), or a clean error naming the file."""
    path = project_file(root)
    try:
        text = path.read_text()
    except OSError as exc:
        raise InvalidInput(
            f"cannot read {path}: {exc.strerror or exc}",
            where=str(path),
            hint="Check its permissions, or link the folder again with `hw link`.",
        ) from exc
    fast = simple_mapping(text)
    data = fast if fast is not None else _yaml_mapping(text, path)
    if not isinstance(data, dict) or not str(data.get("id") or "").strip():
        raise InvalidInput(
            f"{path} names no project id",
            where=str(path),
            hint="Write `id: PROJECT_ID` in it, or link the folder again with `hw link`.",
        )
    return {str(k): str(v) for k, v in data.items()}


def _yaml_mapping(text: str, path: Path) -> object:
    """Any ``project.yml`` that ``simple_mapping`` leaves alone, through YAML."""
    import yaml  # here, not at import: only a file Headwater did not write needs it

    from headwater.domain import boundedyaml

    try:
        return boundedyaml.safe_load(text, source=str(path)) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise InvalidInput(
            f"{path}{line} is not valid YAML",
            where=f"{path}{line}",
            hint="Fix the file, or link the folder again with `hw link`.",
        ) from exc


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

"""Paths inside a versioned tree: relative, POSIX, never escaping the tree.

``check_path`` normalises a path a request names. ``check_name`` is the stricter rule a path
must pass to enter a commit: every clone, sync and task checks the tree out onto a real disk,
so a path the disk or the tools refuse would break all of them for the whole project.
"""

from __future__ import annotations

import re
from typing import ClassVar

from headwater.domain.errors import InvalidInput

MAX_PATH = 4096
# What a commit may hold. Linux refuses a name over 255 bytes (ENAMETOOLONG) and an absolute
# path over 4095; a checkout lands under some folder, so a path keeps 1 KiB of room for it.
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 3072
MAX_DEPTH = 128  # folders and file: well past real projects, well under Python's recursion
META_DIR = ".headwater"  # a linked folder's own state (project.yml, state.json, live.yaml)
# C0 controls, DEL and C1 controls; bidirectional embeddings, overrides and isolates, which
# make a listing show a name other than the one on disk (U+202E: 'exe.txt' reads 'txt.exe');
# and lone surrogates, which no disk can store.
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def check_path(path: str, *, where: str = "path") -> str:
    """Return ``path`` normalised (no ``./``, no doubled slashes) or refuse it.

    Refused: empty, absolute (``/x``, ``C:\\x``), any ``..`` part, NUL, backslashes, over 4096.
    """
    if (  # already normal, nothing to refuse: a sync's 10,000 paths take this way
        path
        and len(path) <= MAX_PATH
        and path[0] not in "/."
        and path[-1] != "/"
        and "/." not in path
        and "//" not in path
        and "\\" not in path
        and "\x00" not in path
        and (len(path) < 2 or path[1] != ":")
    ):
        return path  # every part non-empty, none '.' nor '..': the rules below keep it as is
    if not path or "\x00" in path or len(path) > MAX_PATH:
        raise InvalidInput(
            f"path {path[:80]!r} is empty, too long or holds a NUL byte",
            where=where,
            hint="Use a relative path such as 'src/train.py'.",
        )
    if "\\" in path:
        raise InvalidInput(
            f"path {path!r} holds a backslash",
            where=where,
            hint="Use forward slashes: 'src/train.py'.",
        )
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise InvalidInput(
            f"path {path!r} is absolute",
            where=where,
            hint="Paths are relative to the project's root, e.g. 'data/train.csv'.",
        )
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidInput(
            f"path {path!r} escapes the project with '..'",
            where=where,
            hint="Keep every file inside the project folder.",
        )
    if not parts:
        raise InvalidInput(f"path {path!r} names no file", where=where)
    return "/".join(parts)


class NameRefused(InvalidInput):
    """A path a commit may not hold; 422, like the request's own schema checks."""

    status_code: ClassVar[int] = 422


def shown(path: str, limit: int = 120) -> str:
    """``path`` safe to print: control and bidi characters escaped, long ones cut."""
    text = _FORBIDDEN.sub(lambda m: f"\\u{ord(m.group()):04x}", path)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_name(path: str) -> None:
    """Refuse a (normalised) path that would break a checkout, naming the rule it breaks.

    The rules: each name at most 255 bytes of UTF-8, the path at most 3072 bytes and 128
    levels deep, no control characters (C0, DEL, C1) nor bidi overrides or isolates, and
    nothing under ``.headwater/`` (any case: a linked folder keeps its own state there, so a
    committed one would collide with it on every clone).
    """
    where = shown(path)
    found = _FORBIDDEN.search(path)
    if found:
        raise NameRefused(
            f"path holds the control or bidi character U+{ord(found.group()):04X}",
            where=where,
            hint="Names may not hold control characters (newline, tab, CR, DEL, C1), "
            "bidirectional overrides or isolates (U+202A-U+202E, U+2066-U+2069) nor lone "
            "surrogates; rename it.",
        )
    names = path.split("/")
    if len(names) > MAX_DEPTH:
        raise too_deep(path, len(names))
    size = len(path.encode("utf-8", "surrogatepass"))
    if size > MAX_PATH_BYTES:
        raise NameRefused(
            f"path is {size} bytes long",
            where=where,
            hint=f"A path may be at most {MAX_PATH_BYTES} bytes (UTF-8); shorten it.",
        )
    for name in names:
        length = len(name.encode("utf-8", "surrogatepass"))
        if length > MAX_NAME_BYTES:
            raise NameRefused(
                f"the name '{shown(name, 40)}' is {length} bytes long",
                where=where,
                hint=f"A file or folder name may be at most {MAX_NAME_BYTES} bytes (UTF-8).",
            )
    if names[0].casefold() == META_DIR:
        raise NameRefused(
            f"paths under {META_DIR}/ are the linked folder's own state",
            where=where,
            hint=f"Rename the folder; {META_DIR}/ is never synced (it holds project.yml, "
            "state.json and live.yaml).",
        )


def too_deep(path: str, levels: int) -> NameRefused:
    """The error for ``path``, ``levels`` deep, past ``MAX_DEPTH``."""
    return NameRefused(
        f"path is {levels} levels deep",
        where=shown(path),
        hint=f"A path may be at most {MAX_DEPTH} levels deep (folders and the file).",
    )


def parents(path: str) -> list[str]:
    """The folders above ``path``: 'a/b/c' → ['a', 'a/b']."""
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]

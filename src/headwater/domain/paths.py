"""Paths inside a versioned tree: relative, POSIX, never escaping the tree."""

from __future__ import annotations

from headwater.domain.errors import InvalidInput

MAX_PATH = 4096


def check_path(path: str, *, where: str = "path") -> str:
    """Return ``path`` normalised (no ``./``, no doubled slashes) or refuse it.

    Refused: empty, absolute (``/x``, ``C:\\x``), any ``..`` part, NUL, backslashes, over 4096.
    """
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


def parents(path: str) -> list[str]:
    """The folders above ``path``: 'a/b/c' → ['a', 'a/b']."""
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]

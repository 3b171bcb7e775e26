"""Opening a URL in the user's browser, only where one can show a window (shared by
``hw workspace open`` and ``hw tensorboard open``; a command group never imports another's)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from headwater.cli.output import aside, print_json, say

if TYPE_CHECKING:
    from headwater.schemas.workspaces import WorkspaceOut


def has_display() -> bool:
    """Whether a browser can show a window here: macOS and Windows have one; elsewhere an X
    or Wayland display must be named (over SSH there is none, and the URL is enough)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_in_browser(url: str) -> bool:
    import webbrowser

    try:
        return webbrowser.open_new_tab(url)
    except webbrowser.Error:
        return False


def open_workspace_url(
    shown: WorkspaceOut,
    url: str,
    *,
    browser: bool,
    as_json: bool,
    noun: str,
    command: str,
    again: str,
    waiting: str,
) -> None:
    """What ``open`` does with the workspace or TensorBoard it found (``noun`` and ``command``
    name it in messages): refuse an ended one (``again`` says how to start another), else print
    its URL (with ``--json``, and whether a browser opened it) and open it in a browser where
    one can show a window; one still starting says so on stderr (``waiting``: what then)."""
    from headwater.domain.errors import Conflict

    if shown.state.ended:
        raise Conflict(
            f"{noun} {shown.name} is {shown.state.value}"
            + (f": {shown.reason}" if shown.reason else ""),
            where=f"{command} {shown.name}",
            hint=again,
        )
    opened = browser and has_display() and open_in_browser(url)
    if as_json:
        print_json(
            {"name": shown.name, "id": shown.id, "state": shown.state, "url": url, "opened": opened}
        )
        return
    say(url)
    if shown.state.value != "running":
        aside(f"{noun[:1].upper()}{noun[1:]} {shown.name} is {shown.state.value}: {waiting}")

"""Opening a URL in the user's browser, only where one can show a window (shared by
``hw workspace open`` and ``hw tensorboard open``; a command group never imports another's)."""

from __future__ import annotations

import os
import sys


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

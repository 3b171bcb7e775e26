"""Stopping a task's process group without pulling its sandbox out from under it.

bubblewrap does not pass signals on to what it runs, and ``--die-with-parent`` SIGKILLs the whole
sandbox the moment bwrap itself dies. A SIGTERM to the group would end bwrap at once and so kill
the command mid-work (a replica's requests in flight, a task's last checkpoint). So a polite
signal goes to every process of the group except bwrap's own; the command ends in its own time
and bwrap follows it. SIGKILL goes to the whole group.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

_PROC = Path("/proc")
_SANDBOX = "bwrap"


def signal_group(pgid: int, sig: int) -> None:
    """Send ``sig`` to the process group ``pgid``: all of it for SIGKILL or where ``/proc``
    cannot be read, else every member but the sandbox's own processes."""
    members = None if sig == signal.SIGKILL else _members(pgid)
    if members is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
        return
    for pid, name in members:
        if name != _SANDBOX:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)


def _members(pgid: int) -> list[tuple[int, str]] | None:
    """(pid, command name) of each process in the group, or None without ``/proc``."""
    try:
        entries = [e for e in os.scandir(_PROC) if e.name.isdigit()]
    except OSError:
        return None
    found = []
    for entry in entries:
        try:
            stat = (_PROC / entry.name / "stat").read_text()
        except OSError:  # it ended meanwhile
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses
        head, _, rest = stat.rpartition(")")
        fields = rest.split()
        if len(fields) > 2 and fields[2] == str(pgid):
            found.append((int(entry.name), head.partition("(")[2]))
    return found

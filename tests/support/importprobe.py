"""Run ``hw`` up to its first network call and report what it had imported by then.

    python tests/support/importprobe.py [--through] REPORT.json hw ARGS...

The command runs as the console script runs it (``headwater.cli.main.run()``) in this fresh
interpreter. An audit hook (PEP 578) watches for the first ``socket.getaddrinfo`` or
``socket.connect``: there it writes the names in ``sys.modules`` to REPORT.json and ends the
process at once (exit status 0), so nothing after the first request is counted and no server
is needed. A command that never reaches the network (``--help``, ``--version``, a usage error)
is reported when it exits, with its own exit status. ``--through`` lets the command run to
its end (against a real server) and reports what it had imported then. No hook in Headwater's
code: the interpreter's audit events see every socket, whichever library opens it.

The report: ``{"reached": "network" | "exit", "event": ..., "modules": [...]}``.
"""

from __future__ import annotations

import sys

_REPORT = ""
_THROUGH = False
_NETWORK = ("socket.getaddrinfo", "socket.connect")


def _write(reached: str, event: str, modules: list[str]) -> None:
    import json  # only now: the snapshot is taken before this import

    with open(_REPORT, "w", encoding="utf-8") as out:
        json.dump({"reached": reached, "event": event, "modules": modules}, out)


def _hook(event: str, args: tuple[object, ...]) -> None:
    if event in _NETWORK and not _THROUGH:
        import os

        _write("network", event, _imported())
        sys.stdout.flush()
        os._exit(0)


def _at_exit() -> None:
    _write("exit", "", _imported())


def _imported() -> list[str]:
    """The modules loaded so far. Not loads: a None entry (an import blocked on purpose) and
    a stand-in that loads its module on first use (``headwater.cli.deferred``)."""
    return sorted(
        name
        for name, module in list(sys.modules.items())
        if module is not None and not getattr(module, "__dict__", {}).get("__deferred__")
    )


def main() -> None:
    global _REPORT, _THROUGH
    args = sys.argv[1:]
    _THROUGH = args[0] == "--through"
    _REPORT = args[int(_THROUGH)]
    sys.argv = args[int(_THROUGH) + 1 :]  # as the console script sees them: ["hw", ARGS...]
    import atexit

    atexit.register(_at_exit)
    sys.addaudithook(_hook)
    from headwater.cli.main import run

    run()


if __name__ == "__main__":
    main()

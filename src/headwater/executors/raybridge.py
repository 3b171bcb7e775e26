"""``python -m headwater.executors.raybridge CLUSTER``: the Ray driver of the pool, a process of
its own beside the server.

A Ray driver is Ray's core worker in the process that holds it: it leaves the process when
the cluster's GCS is away past Ray's patience (60 s), and a failure inside it ends the
process. Held here, that ends this bridge, not the server: ``RayPool`` starts a new one on its
next call. The bridge reads one JSON request a line on stdin and answers one line on stdout
(``{"ok": true, "result": ...}`` or ``{"ok": false, "error": "..."}``); it leaves at the end of
its input, when the server went, and the dispatcher and its tasks go on.

Requests: ``launch`` (task, options, resources), ``states``, ``cancel`` (eid), ``end``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

NAMESPACE = "headwater"
DISPATCHER = "headwater-dispatcher"
CALL_SECONDS = 60.0  # the first call starts the dispatcher's worker process


def dispatcher(ray: Any) -> Any:
    from headwater.runtime.onray import Dispatcher

    return Dispatcher.options(  # type: ignore[attr-defined]
        name=DISPATCHER,
        namespace=NAMESPACE,
        lifetime="detached",
        get_if_exists=True,
        # on the head: a worker node that goes takes no one else's tasks with it
        resources={"node:__internal_head__": 0.001},
    ).remote()


def answer(ray: Any, actor: Any, request: dict[str, Any]) -> Any:
    op = request.get("op")
    if op == "launch":
        call = actor.launch.remote(request["task"], request["options"], request["resources"])
    elif op == "states":
        call = actor.states.remote()
    elif op == "cancel":
        call = actor.cancel.remote(request["eid"])
    elif op == "end":
        ray.kill(actor)
        return None
    else:
        raise ValueError(f"unknown op {op!r}")
    return ray.get(call, timeout=CALL_SECONDS)


def main(argv: list[str] | None = None) -> int:
    cluster = (argv or sys.argv[1:])[0]
    # the answers go on a stdout of their own: whatever Ray prints goes to stderr
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    import ray

    ray.init(
        address=cluster, namespace=NAMESPACE, log_to_driver=False, logging_level=logging.WARNING
    )
    actor = dispatcher(ray)
    out.write(json.dumps({"ok": True, "result": "ready"}) + "\n")
    out.flush()
    for line in sys.stdin:
        try:
            reply = {"ok": True, "result": answer(ray, actor, json.loads(line))}
        except Exception as exc:  # Ray's own kinds: a dead actor, a timeout
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:2000]}
        out.write(json.dumps(reply) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

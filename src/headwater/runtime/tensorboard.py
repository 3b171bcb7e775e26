"""A TensorBoard's process: ``python -m headwater.runtime.tensorboard --path-prefix P``.

TensorBoard has no Unix-socket option (only ``--host``/``--port``/``--bind_all``, all TCP), but
it takes a ``server_class``: ours serves its WSGI app with werkzeug on the Unix socket the
runtime names (``HW_REPLICA_SOCKET``, mode 0600), exactly as a JupyterLab workspace does, so
the same proxy and login stand in front of it and no port is open to other users. The logs
are the task's ``input/<number>/tensorboard`` folders (each chosen experiment's committed
``tensorboard/`` artifacts, hardlinks to the read-only cache) and ``HW_TENSORBOARD_LIVE``
(``number=folder`` pairs: a running experiment's output folder, bound read-only into the
sandbox), so each run is named ``<number>/tensorboard``.
``--load_fast=false``: the Rust data server would listen on a TCP port of its own.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path
from typing import Any

from headwater.runtime.jupyter import announce


def logdir_spec(root: Path, live: str) -> str:
    """TensorBoard's ``--logdir_spec``: ``name:folder`` for each experiment, its number as the
    name. Committed logs are in ``input/<n>/tensorboard``; live ones (``number=folder`` pairs
    in ``live``) are a running experiment's output folder, read as it writes."""
    pairs: dict[str, str] = {}
    inputs = root / "input"
    if inputs.is_dir():
        for entry in sorted(inputs.iterdir(), key=lambda p: (len(p.name), p.name)):
            pairs[entry.name] = str(entry)
    for item in filter(None, live.split(",")):
        name, _, folder = item.partition("=")
        pairs[name] = folder
    if not pairs:  # TensorBoard refuses an empty spec: an empty folder shows "no data"
        empty = root / "no-logs"
        empty.mkdir(exist_ok=True)
        pairs["none"] = str(empty)
    return ",".join(f"{name}:{folder}" for name, folder in pairs.items())


def unix_server(sock: str) -> Any:
    """A ``server_class`` for ``tensorboard.program.TensorBoard`` serving on ``sock``."""
    from tensorboard import program  # type: ignore[import-untyped]  # [workspaces]
    from werkzeug import serving

    class UnixServer(program.TensorBoardServer):  # type: ignore[misc]
        def __init__(self, wsgi_app: Any, flags: Any) -> None:
            self._prefix = flags.path_prefix
            self._server = serving.make_server(f"unix://{sock}", 0, wsgi_app, threaded=True)
            os.chmod(sock, 0o600)

        def serve_forever(self) -> None:
            self._server.serve_forever()

        def get_url(self) -> str:
            return f"http://localhost:0{self._prefix}/"

        def print_serving_message(self) -> None:
            print(f"TensorBoard on unix:{sock} at {self._prefix}/", flush=True)

    return UnixServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m headwater.runtime.tensorboard")
    parser.add_argument("--path-prefix", required=True)
    args = parser.parse_args(argv)
    sock = os.environ["HW_REPLICA_SOCKET"]
    ready = os.environ["HW_REPLICA_READY"]
    root = Path(sock).parent
    spec = logdir_spec(root, os.environ.get("HW_TENSORBOARD_LIVE", ""))
    from tensorboard import program

    board = program.TensorBoard(server_class=unix_server(sock))
    board.configure(
        logdir_spec=spec,
        path_prefix=args.path_prefix.rstrip("/"),
        load_fast="false",
        reload_interval=2.0,
    )
    threading.Thread(target=announce, args=(sock, ready), daemon=True).start()
    sys.exit(board.main())


if __name__ == "__main__":
    main(sys.argv[1:])

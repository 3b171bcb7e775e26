"""A workspace's process: ``python -m headwater.runtime.jupyter --base-url /workspaces/<id>/``.

JupyterLab runs in this process, in the sandbox, on the Unix socket the runtime names
(``HW_REPLICA_SOCKET``, in the task folder, mode 0600), checking the token the server put in
``JUPYTER_TOKEN`` (only the server's proxy sends it). Once the socket answers, the ready file
(``HW_REPLICA_READY``) gets its address and the runtime reports it, as an endpoint replica's
does: the same path, so a workspace is routed to only once JupyterLab answers.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

POLL = 0.02


def announce(sock: str, ready: str) -> None:
    """Write ``unix:<sock>`` to the ready file once a connection to the socket succeeds."""
    while True:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.connect(sock)
            break
        except OSError:
            time.sleep(POLL)
    partial = Path(ready + ".part")
    partial.write_text(f"unix:{sock}")
    partial.replace(ready)


def lab_arguments(sock: str, root: str, base_url: str) -> list[str]:
    """JupyterLab's command line: the socket only (no TCP port), the project's folder as its
    root, our base URL; no browser, and the Host check off (nothing but the proxy reaches a
    Unix socket, and the proxy passes the browser's Host on)."""
    return [
        f"--ServerApp.sock={sock}",
        "--ServerApp.sock_mode=0600",
        f"--ServerApp.root_dir={root}",
        f"--ServerApp.base_url={base_url}",
        "--ServerApp.open_browser=False",
        "--ServerApp.allow_remote_access=True",
        "--ServerApp.quit_button=False",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]


def keep_token_out_of_pages(lab: Any) -> None:
    """JupyterLab writes its token into every page's config for the browser to send back
    (as JupyterHub's single-user servers avoid, labapp.py): ours must never reach a browser,
    whose requests the proxy signs instead. Blank it once the handlers are set up."""
    original = lab.initialize_handlers

    def initialize_handlers(self: Any) -> None:
        original(self)
        self.serverapp.web_app.settings["page_config_data"]["token"] = ""

    lab.initialize_handlers = initialize_handlers


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m headwater.runtime.jupyter")
    parser.add_argument("--base-url", required=True)
    args = parser.parse_args(argv)
    sock = os.environ["HW_REPLICA_SOCKET"]
    ready = os.environ["HW_REPLICA_READY"]
    root = str(Path(sock).parent)
    # Jupyter's runtime files (kernel connection files) in the private /tmp, not the project
    os.environ.setdefault("JUPYTER_RUNTIME_DIR", tempfile.mkdtemp(prefix="jupyter-"))
    os.environ.setdefault("JUPYTER_CONFIG_DIR", tempfile.mkdtemp(prefix="jupyter-config-"))
    threading.Thread(target=announce, args=(sock, ready), daemon=True).start()
    from jupyterlab.labapp import LabApp  # type: ignore[import-untyped]  # [workspaces]

    keep_token_out_of_pages(LabApp)
    LabApp.launch_instance(argv=lab_arguments(sock, root, args.base_url))


if __name__ == "__main__":
    main(sys.argv[1:])

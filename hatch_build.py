"""Build hook: the web UI (``ui/``, Vite) is built into ``src/headwater/server/static/``.

Runs for the wheel and the editable install alike, so ``pip install -e .`` of a fresh clone
serves the UI with no extra step. It builds only when the build is missing or older than the
UI's sources, so a reinstall costs nothing. ``HEADWATER_SKIP_UI_BUILD=1`` skips it (the server
then says the UI is not built).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import (  # type: ignore[import-not-found, unused-ignore]
    BuildHookInterface,
)

STATIC = Path("src/headwater/server/static")
# What the build reads: a change to any of these makes the build stale.
SOURCES = (
    "src",
    "public",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
)


def newest_mtime(ui: Path) -> float:
    newest = 0.0
    for name in SOURCES:
        path = ui / name
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
        elif path.is_dir():
            for item in path.rglob("*"):
                if item.is_file():
                    newest = max(newest, item.stat().st_mtime)
    return newest


def is_fresh(ui: Path, static: Path) -> bool:
    index = static / "index.html"
    return index.is_file() and index.stat().st_mtime >= newest_mtime(ui)


class UIBuildHook(BuildHookInterface):  # type: ignore[misc, type-arg, unused-ignore]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return  # an sdist ships ui/'s sources; its wheel builds them
        root = Path(self.root)
        ui = root / "ui"
        static = root / STATIC
        # Ignored by git, so named here to be packed into the wheel.
        build_data["artifacts"].append(f"/{STATIC.as_posix()}/")
        if os.environ.get("HEADWATER_SKIP_UI_BUILD") == "1" or not ui.is_dir():
            return
        if is_fresh(ui, static):
            return
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError(
                "Headwater's web UI must be built, and npm was not found on PATH. Install "
                "Node.js 20 or newer with npm (Debian: `apt-get install nodejs npm`), then "
                "install again; or set HEADWATER_SKIP_UI_BUILD=1 to install without the UI."
            )
        self.app.display_info("building the web UI: npm ci && npm run build (in ui/)")
        for args in ([npm, "ci", "--no-audit", "--no-fund"], [npm, "run", "build"]):
            done = subprocess.run(args, cwd=ui, check=False)
            if done.returncode != 0:
                raise RuntimeError(
                    f"building the web UI failed: `{' '.join(args[1:])}` in {ui} exited with "
                    f"{done.returncode} (its output is above). Fix it, or set "
                    "HEADWATER_SKIP_UI_BUILD=1 to install without the UI."
                )

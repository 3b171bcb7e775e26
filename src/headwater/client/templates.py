"""Rendering a cookiecutter project template (seed 003): the packaged default, a path or a Git URL.

Cookiecutter runs without prompts and without the user's cookiecutter config: its clones and
replay files go to a temporary folder, so `hw new` leaves nothing behind in ``~`` and never asks
"re-download?". It is imported only here, when a template is rendered: it costs a third of a
second, which every other command would otherwise pay at start-up.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import yaml

from headwater.domain.errors import InvalidInput

DEFAULT_TEMPLATE = Path(__file__).resolve().parent.parent / "templates" / "default"


def render(template: str | None, context: dict[str, str], output_dir: Path) -> Path:
    """Render ``template`` (None: the packaged default) into ``output_dir`` with ``context``
    overriding the template's defaults; variables the template lacks are ignored. Returns the
    folder it made."""
    from cookiecutter.exceptions import CookiecutterException  # type: ignore[import-untyped]
    from cookiecutter.main import cookiecutter  # type: ignore[import-untyped]
    from jinja2 import TemplateError

    source = str(DEFAULT_TEMPLATE) if template is None else template
    with tempfile.TemporaryDirectory(prefix="hw-template-") as tmp:
        config = Path(tmp, "cookiecutter.yaml")
        config.write_text(
            yaml.safe_dump({"cookiecutters_dir": f"{tmp}/clones", "replay_dir": f"{tmp}/replay"})
        )
        try:
            made = cookiecutter(
                source,
                no_input=True,
                extra_context=context,
                output_dir=str(output_dir),
                config_file=str(config),
            )
        except (CookiecutterException, TemplateError, subprocess.CalledProcessError) as exc:
            raise InvalidInput(
                f"the template {source} could not be rendered: {exc}",
                where="--template",
                hint="Give a cookiecutter template: a folder with cookiecutter.json, or a Git "
                "URL such as https://github.com/OWNER/REPO.git.",
            ) from exc
    return Path(str(made))

"""The ``hw`` command line: Typer command groups over the SDK (``headwater.client``).

Set here, before any ``hw`` module imports httpx or renders help:

- httpx imports its own command line (click, pygments and Rich: ~40 ms) whenever those are
  installed, and ``hw`` never uses it; a None entry in ``sys.modules`` makes that optional
  import fail at once, as it does where they are absent.
- Typer's help renderer imports ``rich.markdown`` (markdown-it, Pygments) and
  ``rich.traceback`` (attrs) for Markdown help and pretty tracebacks, which ``hw`` does not
  use: they are stand-ins (``deferred.py``) that load the real modules if anything uses them.
"""

import sys

from headwater.cli.deferred import defer

sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
defer("rich.markdown", "Markdown")
defer("rich.traceback", "Traceback")

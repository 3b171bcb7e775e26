"""The ``hw`` command line: Typer command groups over the SDK (``headwater.client``).

httpx imports its own command line (click, pygments and Rich: ~40 ms) whenever those are
installed, and ``hw`` never uses it; a None entry in ``sys.modules`` makes that optional import
fail at once, as it does where they are absent. Set here, before any ``hw`` module imports httpx.
"""

import sys

sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

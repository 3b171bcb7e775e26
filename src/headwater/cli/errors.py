"""The one error handler: a user error is one paragraph on stderr and exit status 1.

What went wrong, where, and how to fix it, without a traceback unless ``--debug`` asks for
one. Usage errors stay with Typer (exit status 2). Any other exception is a bug in Headwater
and says so.
"""

from __future__ import annotations

import traceback

from rich.text import Text

from headwater.cli.output import stderr
from headwater.domain.errors import HeadwaterError

EXIT_USER_ERROR = 1


def paragraph(exc: HeadwaterError) -> Text:
    """``Error: WHERE: DETAIL. HINT`` as one paragraph."""
    text = Text("Error: ", style="bold red")
    if exc.where:
        text.append(f"{exc.where}: ", style="bold")
    detail = exc.detail.rstrip()
    text.append(detail if detail.endswith((".", "!", "?")) else detail + ".")
    if exc.hint:
        text.append(" " + exc.hint)
    return text


def handle(exc: Exception, *, debug: bool) -> int:
    """Report an exception that escaped a command; return the exit status.

    With ``debug`` a Headwater error also shows its traceback, and any other exception is
    raised again for Python to print in full.
    """
    if not isinstance(exc, HeadwaterError):
        if debug:
            raise exc
        message = Text("Internal error: ", style="bold red")
        message.append(f"{type(exc).__name__}: {exc}. This is a bug in Headwater, not your ")
        message.append("mistake: run the command again with `hw --debug ...` to see the ")
        message.append("traceback, and report it.")
        stderr().print(message, soft_wrap=True)
        return EXIT_USER_ERROR
    if debug:
        traceback.print_exception(exc)
    stderr().print(paragraph(exc), soft_wrap=True)
    return EXIT_USER_ERROR

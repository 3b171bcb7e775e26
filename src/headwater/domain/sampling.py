"""Which requests the gateway writes to the request log, and how much of each.

The rule is ``all``, ``none`` or ``1/N`` (one request in N). It is decided on the gateway's
request counter, not at random, so ``1/10`` logs exactly the 1st, 11th, 21st... request and a
test can tell which. An endpoint's own rule wins over its project's, which wins over the
server's default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from headwater.domain.errors import InvalidInput

CUT_MARK = "…[{} more bytes]"
_ONE_IN = re.compile(r"1/([0-9]+)")


@dataclass(frozen=True)
class SampleRule:
    every: int  # log one request in ``every``; 0: none

    def keeps(self, counter: int) -> bool:
        """Whether the ``counter``-th request (from 0) is logged."""
        return self.every > 0 and counter % self.every == 0

    def __str__(self) -> str:
        return {0: "none", 1: "all"}.get(self.every, f"1/{self.every}")


ALL = SampleRule(1)
NONE = SampleRule(0)


def parse_rule(text: str, *, where: str = "request_log") -> SampleRule:
    """``all``, ``none`` or ``1/N`` (N >= 1; ``1/1`` is all)."""
    value = text.strip().lower()
    if value == "all":
        return ALL
    if value == "none":
        return NONE
    match = _ONE_IN.fullmatch(value.replace(" ", ""))
    if match and int(match.group(1)) >= 1:
        return SampleRule(int(match.group(1)))
    raise InvalidInput(
        f"request log sampling {text!r} is not all, none or 1/N",
        where=where,
        hint="Use all (every request), none, or 1/N with N a whole number, e.g. 1/100.",
    )


def effective_rule(*rules: str | None, where: str = "request_log") -> SampleRule:
    """The first rule given (endpoint, project, server default); all when none is."""
    for rule in rules:
        if rule:
            return parse_rule(rule, where=where)
    return ALL


def truncate(text: str, limit: int) -> str:
    """``text`` within ``limit`` UTF-8 bytes, the cut marked with how many bytes it dropped.

    The mark counts in the limit, and a character is never cut in two. A limit too small to
    hold the mark cuts without one.
    """
    data = text.encode()
    if len(data) <= limit:
        return text
    # room for the longest mark (nothing kept), so the real one never goes over the limit
    room = limit - len(CUT_MARK.format(len(data)).encode())
    if room < 0:
        return data[:limit].decode(errors="ignore")
    kept = data[:room].decode(errors="ignore")
    return kept + CUT_MARK.format(len(data) - len(kept.encode()))

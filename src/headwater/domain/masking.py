"""Secret values kept out of what a task prints.

A task sees the project's secrets as environment variables; anyone with read access to jobs
reads its logs. So every line of every secret value is replaced by ``***`` in the text that is
stored, as CI systems do. Output arrives in arbitrary pieces, so a secret may be split between
two reads: the streaming form holds back the shortest tail that could still begin a secret and
releases it with the next piece (or at the end).

Values shorter than ``MIN_MASKED`` characters are not masked: ``1`` or ``yes`` occur everywhere,
and masking them would wreck the log while hiding nothing worth hiding.
"""

from __future__ import annotations

from collections.abc import Iterable

MASK = "***"
MIN_MASKED = 4


def masked_values(values: Iterable[str]) -> list[str]:
    """What to mask for these secret values: each line of each, stripped, long enough,
    longest first (so a secret that contains another is masked whole)."""
    found: set[str] = set()
    for value in values:
        for line in value.replace("\r", "").split("\n"):
            line = line.strip()
            if len(line) >= MIN_MASKED:
                found.add(line)
    return sorted(found, key=lambda s: (-len(s), s))


def mask(text: str, secrets: list[str]) -> str:
    """``text`` with every occurrence of each of ``secrets`` (from ``masked_values``) masked."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class StreamMask:
    """Masks a stream of text that arrives in pieces; one per stream (stdout, stderr)."""

    def __init__(self, secrets: list[str]) -> None:
        self.secrets = secrets
        self._held = ""

    def feed(self, text: str) -> str:
        """The masked text that is safe to release now; a possible start of a secret at the
        end stays held for the next piece."""
        if not self.secrets:
            return text
        text = mask(self._held + text, self.secrets)
        keep = self._open_tail(text)
        self._held = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep] if keep else text

    def flush(self) -> str:
        """Whatever is held, at the end of the stream (an unfinished secret is no secret)."""
        held, self._held = self._held, ""
        return held

    def _open_tail(self, text: str) -> int:
        """Length of the longest tail of ``text`` that is a proper prefix of some secret."""
        longest = 0
        for secret in self.secrets:
            for size in range(min(len(secret) - 1, len(text)), longest, -1):
                if text.endswith(secret[:size]):
                    longest = size
                    break
        return longest

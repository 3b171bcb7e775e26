"""Identifiers: short, random, URL-safe, typed by hand without trouble."""

from __future__ import annotations

import secrets


def new_id() -> str:
    """12 lowercase hex digits (48 bits): unique enough per server, short enough to type."""
    return secrets.token_hex(6)


MAX_NUMBER = 2**31 - 1  # experiments and runs are numbered in a 32-bit column


def as_number(ref: str) -> int | None:
    """The number people see (``12``) in ``ref``, or None when it can only be an id.

    An id is hex, so one in a few hundred is all digits: far too large for a number, it must
    be looked up as an id, never compared with the number column (PostgreSQL refuses that).
    """
    if not (ref.isascii() and ref.isdigit()) or len(ref) > len(str(MAX_NUMBER)):
        return None
    value = int(ref)
    return value if value <= MAX_NUMBER else None

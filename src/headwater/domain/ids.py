"""Identifiers: short, random, URL-safe, typed by hand without trouble."""

from __future__ import annotations

import secrets


def new_id() -> str:
    """12 lowercase hex digits (48 bits): unique enough per server, short enough to type."""
    return secrets.token_hex(6)

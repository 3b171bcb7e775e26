"""Turn a prediction into JSON bytes: plain values as they are, numpy's through ``tolist``/``item``.

numpy is never imported here: if the user's code returned a numpy value, numpy is already
in ``sys.modules``, and that is the only place we look for it. Strict JSON: NaN and infinity
are refused rather than written as tokens other parsers reject.
"""

from __future__ import annotations

import json
import sys
from typing import Any


class NotJson(ValueError):
    """The function's result cannot be written as JSON."""


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON of ``value``; :class:`NotJson` saying why when it cannot be."""
    try:
        return _ENCODER.encode(value).encode()
    except (TypeError, ValueError, RecursionError) as error:
        raise NotJson(str(error) or type(error).__name__) from None


def _plain(value: Any) -> Any:
    """json's hook for what it does not know: numpy arrays and scalars, else a TypeError."""
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        if isinstance(value, numpy.ndarray):
            return value.tolist()
        if isinstance(value, numpy.generic):
            return value.item()
    if isinstance(value, set | frozenset):
        raise TypeError(f"a {type(value).__name__} is not JSON (return a list)")
    if isinstance(value, bytes | bytearray):
        raise TypeError(f"{type(value).__name__} are not JSON (return base64 text)")
    raise TypeError(f"a {type(value).__module__}.{type(value).__qualname__} is not JSON")


# One encoder for every call: json.dumps with options builds a new one each time (~5 us).
_ENCODER = json.JSONEncoder(
    default=_plain, ensure_ascii=False, allow_nan=False, separators=(",", ":")
)

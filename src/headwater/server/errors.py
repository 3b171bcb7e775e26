"""The one place domain errors become HTTP answers: ``{error, detail, where, hint}``."""

from __future__ import annotations

import errno
import json
import logging
from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import DataError, OperationalError

from headwater.domain.errors import HeadwaterError, InvalidInput, ServerBusy

log = logging.getLogger("headwater.server")


def _where(loc: Sequence[object]) -> str:
    return ".".join(str(p) for p in loc if p not in ("body",)) or "body"


class _AsciiJSON(JSONResponse):
    def render(self, content: object) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode()


async def _headwater_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HeadwaterError)
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return _AsciiJSON(exc.to_dict(), status_code=exc.status_code, headers=headers)


async def _data_error(_: Request, exc: Exception) -> JSONResponse:
    # the database's own words, for whoever runs the server (the caller gets the gist)
    log.warning("refused a value the database cannot store: %s", getattr(exc, "orig", exc))
    error = InvalidInput(
        "a value in the request cannot be stored (a NUL character, or too long)",
        where="body",
        hint="Remove NUL characters and shorten the value.",
    )
    return _AsciiJSON(error.to_dict(), status_code=400)


async def _request_invalid(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError | ValidationError)
    errors = list(exc.errors())
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    error = InvalidInput(
        str(first.get("msg", "invalid value")),
        where=_where(first.get("loc", ())),
        hint="Fix that field; the API schema is at /docs."
        + (f" ({len(errors) - 1} more problem(s) in the same request.)" if len(errors) > 1 else ""),
    )
    return _AsciiJSON(error.to_dict(), status_code=422)


class InsufficientStorage(HeadwaterError):
    """The server's disk (or quota) is full: nothing the caller can fix by changing the request."""

    status_code = 507
    code = "insufficient_storage"


_FULL = (errno.ENOSPC, errno.EDQUOT)
# SQLite says "database or disk is full"; PostgreSQL's disk_full is SQLSTATE 53100.
_DB_FULL_STATE = "53100"
_DB_RETRY_STATES = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure


def _storage_full(where: str) -> InsufficientStorage:
    return InsufficientStorage(
        "the server ran out of disk space (or quota) while writing; nothing was changed",
        where=where,
        hint="Ask the server's admin to free space (`hw admin gc` removes unused blobs), "
        "then try again.",
    )


async def _os_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OSError)
    if exc.errno not in _FULL:
        raise exc  # any other OSError is a server fault: the 500 with its traceback in the log
    log.error("a write failed, the disk is full: %s", exc)
    return _AsciiJSON(_storage_full("storage").to_dict(), status_code=507)


async def _db_operational(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OperationalError)
    orig = exc.orig
    state = getattr(orig, "sqlstate", None)
    if state in _DB_RETRY_STATES:
        # PostgreSQL rolled this transaction back to let another go on: a clash, not a fault
        log.warning("a write was rolled back by the database (%s): %s", state, orig)
        error = ServerBusy(
            "the database rolled this change back because another change needed the same "
            "rows at the same moment; nothing was changed",
            where="database",
            hint="Send the same request again: it is safe to repeat.",
        )
        return _AsciiJSON(error.to_dict(), status_code=503, headers={"Retry-After": "1"})
    full = "disk is full" in str(orig) or state == _DB_FULL_STATE
    if not full:
        raise exc
    log.error("a database write failed, the disk is full: %s", orig)
    return _AsciiJSON(_storage_full("database").to_dict(), status_code=507)


def install(app: FastAPI) -> None:
    app.add_exception_handler(HeadwaterError, _headwater_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(ValidationError, _request_invalid)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(OSError, _os_error)
    app.add_exception_handler(OperationalError, _db_operational)

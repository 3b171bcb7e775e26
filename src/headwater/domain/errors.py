"""The one hierarchy of errors a user can cause.

Every error says what went wrong, where (a field path or file:line) and how to fix it.
The API turns each into a 4xx JSON body ``{error, detail, where, hint}``; the CLI prints it
as one paragraph and exits 1.

    HeadwaterError
     ├── InvalidInput          400  bad value in a request, a file or an argument
     ├── Unauthenticated       401  no token, or a token the server does not know
     ├── PermissionDenied      403  the caller lacks the access the action needs
     ├── NotFound              404  no such object (or not visible to the caller)
     ├── Conflict              409  the object exists already, or the state forbids the change
     ├── TooManyAttempts       429  too many failed logins: wait ``retry_after`` seconds
     └── ServerUnreachable     --   client side only: the server did not answer
"""

from __future__ import annotations

from typing import ClassVar


class HeadwaterError(Exception):
    """Base of every user-facing error."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "error"

    def __init__(self, detail: str, *, where: str | None = None, hint: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        parts = [f"{self.where}: {self.detail}" if self.where else self.detail]
        if self.hint:
            parts.append(self.hint)
        return " ".join(parts)

    def to_dict(self) -> dict[str, str | None]:
        return {"error": self.code, "detail": self.detail, "where": self.where, "hint": self.hint}


class InvalidInput(HeadwaterError):
    status_code = 400
    code = "invalid_input"


class Unauthenticated(HeadwaterError):
    status_code = 401
    code = "unauthenticated"


class PermissionDenied(HeadwaterError):
    status_code = 403
    code = "permission_denied"


class NotFound(HeadwaterError):
    status_code = 404
    code = "not_found"


class Conflict(HeadwaterError):
    status_code = 409
    code = "conflict"


class TooManyAttempts(HeadwaterError):
    status_code = 429
    code = "too_many_attempts"

    def __init__(
        self,
        detail: str,
        *,
        retry_after: int = 60,  # seconds; the client rebuilds it from the body alone
        where: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(detail, where=where, hint=hint)
        self.retry_after = retry_after


class ServerUnreachable(HeadwaterError):
    status_code = 503
    code = "server_unreachable"


class ServerBusy(HeadwaterError):
    """The server answered, but could not do it now; the same request may succeed later."""

    status_code = 503
    code = "server_busy"


ERRORS_BY_CODE: dict[str, type[HeadwaterError]] = {
    cls.code: cls
    for cls in (
        HeadwaterError,
        InvalidInput,
        Unauthenticated,
        PermissionDenied,
        NotFound,
        Conflict,
        TooManyAttempts,
        ServerUnreachable,
        ServerBusy,
    )
}

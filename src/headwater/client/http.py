"""The SDK's one road to the server: JSON over httpx, errors back as typed exceptions.

Every failure a caller can meet arrives as a ``HeadwaterError`` subclass: the server's
``{error, detail, where, hint}`` body becomes the class named by ``error`` (``ERRORS_BY_CODE``),
and a server that does not answer becomes ``ServerUnreachable`` with a hint to start it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from headwater import __version__
from headwater.domain.errors import (
    ERRORS_BY_CODE,
    Conflict,
    HeadwaterError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    ServerUnreachable,
    Unauthenticated,
)
from headwater.schemas.common import ErrorOut

API_PREFIX = "/api/v1"
DEFAULT_TIMEOUT = 30.0

T = TypeVar("T")
Params = dict[str, str | int | bool | None]

_BY_STATUS: dict[int, type[HeadwaterError]] = {
    cls.status_code: cls
    for cls in (InvalidInput, Unauthenticated, PermissionDenied, NotFound, Conflict)
}
_BY_STATUS[422] = InvalidInput

# Answers after which the same request may well succeed: the server is overloaded, restarting
# or behind a proxy that lost it. 4xx answers are the caller's to fix: sending again won't.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 507})


def _query(params: Params | None) -> dict[str, str | int | bool]:
    return {k: v for k, v in (params or {}).items() if v is not None}


def segment(value: str) -> str:
    """One path segment from user input (an email, a key): quoted so it cannot add a path."""
    return quote(value, safe="")


def payload(model: type[BaseModel], /, **fields: Any) -> dict[str, Any]:
    """A request body checked against its schema before it travels; unset fields are left out."""
    try:
        body = model(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInput(
            str(first["msg"]),
            where=".".join(str(p) for p in first["loc"]) or model.__name__,
            hint="Fix that value and try again.",
        ) from exc
    return body.model_dump(mode="json", exclude_unset=True)


_ADAPTERS: dict[object, TypeAdapter[Any]] = {}


def _adapter(kind: type[T]) -> TypeAdapter[T]:
    """Building an adapter costs more than a request on localhost: build each once."""
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    return adapter


class HttpClient:
    """A base URL, a bearer token and the error mapping; resource clients build on it."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        headers = {"User-Agent": f"headwater-client/{__version__}", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=self.url,
            headers=headers,
            timeout=timeout,
            transport=transport,
            # A plain-http client never speaks TLS (redirects are not followed), so it skips
            # loading the CA bundle: that alone took 0.1 s of every `hw` command.
            verify=self.url.startswith("https://"),
        )

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | Iterable[bytes] | None = None,
        params: Params | None = None,
        api: bool = True,
        headers: dict[str, str] | None = None,
        check: bool = True,
    ) -> httpx.Response:
        """Send one request. ``path`` is under ``/api/v1`` unless ``api`` is False; ``headers``
        add to (or replace) the client's; ``check=False`` hands back an error answer as it is
        (``error(response)`` turns it into the exception)."""
        full = API_PREFIX + path if api else path
        with self._reaching(method, full):
            response = self._http.request(
                method, full, json=json, content=content, params=_query(params), headers=headers
            )
        if check and response.is_error:
            raise self._error(response)
        return response

    @contextmanager
    def stream(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | Iterable[bytes] | None = None,
        params: Params | None = None,
    ) -> Iterator[httpx.Response]:
        """Like ``request``, for answers too large to hold: read them as they arrive."""
        full = API_PREFIX + path
        with (
            self._reaching(method, full),
            self._http.stream(
                method, full, json=json, content=content, params=_query(params)
            ) as response,
        ):
            if response.is_error:
                response.read()
                raise self._error(response)
            yield response

    @contextmanager
    def _reaching(self, method: str, path: str) -> Iterator[None]:
        """Transport failures, wherever they happen, as ``ServerUnreachable``."""
        try:
            yield
        except httpx.TimeoutException as exc:
            raise ServerUnreachable(
                f"the server did not answer {method} {path} within {self._timeout():g} s",
                where=self.url,
                hint="It may be overloaded or stuck; check its log, then try again.",
            ) from exc
        except httpx.TransportError as exc:
            raise ServerUnreachable(
                f"cannot reach the Headwater server ({exc})",
                where=self.url,
                hint=f"Is `hw server` running at {self.url}? Start it, or point "
                "`hw login --url` or HEADWATER_URL at the right address.",
            ) from exc

    def call(
        self,
        method: str,
        path: str,
        returns: type[T],
        *,
        json: Any = None,
        params: Params | None = None,
        api: bool = True,
    ) -> T:
        """Send one request and parse the answer as ``returns`` (a model, list or dict type)."""
        response = self.request(method, path, json=json, params=params, api=api)
        try:
            parsed = _adapter(returns).validate_json(response.content)
        except ValidationError as exc:
            raise HeadwaterError(
                f"the server's answer to {method} {path} does not match this client",
                where=self.url,
                hint=f"Use a client of the server's version (this is {__version__}).",
            ) from exc
        return parsed

    def _timeout(self) -> float:
        return self._http.timeout.read or DEFAULT_TIMEOUT

    def error(self, response: httpx.Response) -> HeadwaterError:
        """The ``HeadwaterError`` an error answer stands for (its HTTP status kept on it)."""
        return self._error(response)

    def _error(self, response: httpx.Response) -> HeadwaterError:
        error = self._typed_error(response)
        # kept on the error (its class alone cannot say: a 503 and a 400 may share one)
        error.__dict__["http_status"] = response.status_code
        return error

    def _typed_error(self, response: httpx.Response) -> HeadwaterError:
        status = response.status_code
        cls = _BY_STATUS.get(status, HeadwaterError)
        try:
            body = ErrorOut.model_validate_json(response.content)
        except ValidationError:
            body = None
        if body is not None:
            cls = ERRORS_BY_CODE.get(body.error, cls)
            return cls(body.detail, where=body.where, hint=body.hint)
        request = f"{response.request.method} {response.request.url.path}"
        if status >= 500:
            return HeadwaterError(
                f"the server failed on {request} ({status} {response.reason_phrase})",
                where=self.url,
                hint="That is the server's fault, not yours: its log says why.",
            )
        return cls(
            f"the server answered {status} {response.reason_phrase} to {request}",
            where=self.url,
            hint=f"Check that {self.url} is a Headwater server of this client's version "
            f"({__version__}).",
        )


def transient(error: BaseException) -> bool:
    """Whether sending the same request again may succeed: the server did not answer, or
    answered one of ``RETRY_STATUSES``."""
    if isinstance(error, ServerUnreachable):
        return True
    return getattr(error, "http_status", None) in RETRY_STATUSES

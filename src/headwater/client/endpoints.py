"""Endpoints (issue 13): deploy a function, manage what serves it, and call it.

Management calls act on an endpoint of a project by title or id, like the server's routes;
a URL slug (``/api/v1/endpoints/<slug>/predict``) is accepted too where it differs from the
title (``Iris`` serves at ``iris``): it is looked up only when the name matches no title.

``predict`` calls the public predict route with the endpoint's key as a bearer token, or,
without a key, the project's try route, which takes the caller's own login (jobs read).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx

from headwater.client.http import Params, payload, segment
from headwater.client.scope import ProjectScoped
from headwater.domain.errors import HeadwaterError, InvalidInput, NotFound
from headwater.schemas.common import Page
from headwater.schemas.endpoints import (
    EndpointDeploy,
    EndpointDeployed,
    EndpointDetail,
    EndpointKey,
    EndpointLogChunk,
    EndpointLogsOut,
    EndpointOut,
    EndpointScale,
    RequestOut,
    TrafficOut,
)

T = TypeVar("T")
FilePath = str | Path
SLUG_SCAN = 500  # endpoints looked through for a slug: one page
FAILED = "failed"
ENDED_VERSIONS = ("failed", "rolled_back")
LOG_PAGE = 1000
TINY = timedelta(microseconds=1)


@dataclass(frozen=True)
class Prediction:
    """What the endpoint answered: ``prediction`` is the function's result."""

    prediction: Any
    request_id: str


@dataclass(frozen=True)
class DeployProgress:
    """One look at a deploy in progress: ``done`` once its version serves, or failed."""

    endpoint: EndpointDetail
    version: int
    ready: int
    done: bool
    failed: str | None = None


class EndpointsClient(ProjectScoped):
    resource = "endpoints"

    # -- reading ----------------------------------------------------------------------------

    def list(
        self, *, offset: int = 0, limit: int = 50, project: str | None = None
    ) -> Page[EndpointOut]:
        """A page of the project's endpoints, by title."""
        params: Params = {"offset": offset, "limit": limit}
        return self._http.call("GET", self._path(project), Page[EndpointOut], params=params)

    def show(self, ref: str, *, project: str | None = None) -> EndpointDetail:
        """One endpoint with its URL, versions (traffic split) and replicas."""
        return self._on(ref, project, lambda r: self._get(r, project))

    def _get(self, ref: str, project: str | None) -> EndpointDetail:
        return self._http.call("GET", self._path(project, ref), EndpointDetail)

    def logs(
        self,
        ref: str,
        *,
        since: datetime | None = None,
        limit: int = LOG_PAGE,
        project: str | None = None,
    ) -> EndpointLogsOut:
        """The replicas' output after ``since``, in time order."""
        params: Params = {"limit": limit}
        if since is not None:
            params["since"] = since.isoformat()
        return self._on(
            ref,
            project,
            lambda r: self._http.call(
                "GET", self._path(project, r, "logs"), EndpointLogsOut, params=params
            ),
        )

    def follow(
        self, ref: str, *, poll: float = 1.0, project: str | None = None
    ) -> Iterator[EndpointLogChunk]:
        """Every chunk of the replicas' output, then new ones as they come (until closed).
        Asks again from just before the last chunk's time, so chunks written in the same
        instant across two asks are neither lost nor repeated."""
        since: datetime | None = None
        seen: set[tuple[int, int]] = set()  # chunks at exactly ``since``
        while True:
            ask = since - TINY if since is not None else None
            page = self.logs(ref, since=ask, limit=LOG_PAGE, project=project)
            fresh = [c for c in page.chunks if (c.experiment, c.seq) not in seen]
            yield from fresh
            if page.chunks:
                last = page.chunks[-1].at
                if last != since:
                    seen.clear()
                since = last
                seen.update((c.experiment, c.seq) for c in page.chunks if c.at == last)
            if len(page.chunks) < LOG_PAGE:
                time.sleep(poll)

    def requests(
        self, ref: str, *, offset: int = 0, limit: int = 50, project: str | None = None
    ) -> Page[RequestOut]:
        """The sampled request log, newest first (inputs and outputs truncated)."""
        params: Params = {"offset": offset, "limit": limit}
        return self._on(
            ref,
            project,
            lambda r: self._http.call(
                "GET", self._path(project, r, "requests"), Page[RequestOut], params=params
            ),
        )

    def traffic(
        self, ref: str, *, since: datetime | None = None, project: str | None = None
    ) -> TrafficOut:
        """Requests/s, p50/p99 and errors per version and 5-second bucket."""
        params: Params = {"since": since.isoformat() if since else None}
        return self._on(
            ref,
            project,
            lambda r: self._http.call(
                "GET", self._path(project, r, "traffic"), TrafficOut, params=params
            ),
        )

    # -- changing ---------------------------------------------------------------------------

    def deploy(
        self,
        title: str,
        file_name: str,
        function_name: str,
        *,
        min_replica: int = 1,
        max_replica: int = 1,
        config_vars: Sequence[str] = (),
        accept_files: bool = False,
        commit: str | None = None,
        model: str | None = None,
        computes: Sequence[str] = (),
        project: str | None = None,
    ) -> EndpointDeployed:
        """Serve ``function_name`` from ``file_name`` of the project's synced files: a new
        endpoint (its key is in the answer, once), or a new version of the endpoint titled
        ``title`` (rolled out as a canary)."""
        body = payload(
            EndpointDeploy,
            title=title,
            file_name=file_name,
            function_name=function_name,
            min_replica=min_replica,
            max_replica=max_replica,
            config_vars=list(config_vars),
            accept_files=accept_files,
            commit=commit,
            model=model,
            computes=list(computes),
        )
        return self._http.call("POST", self._path(project), EndpointDeployed, json=body)

    def scale(
        self, ref: str, min_replica: int, max_replica: int, *, project: str | None = None
    ) -> EndpointDetail:
        """New replica bounds; the autoscaler picks the number within them."""
        body = payload(EndpointScale, min_replica=min_replica, max_replica=max_replica)
        return self._change(ref, "scale", project, json=body)

    def stop(self, ref: str, *, project: str | None = None) -> EndpointDetail:
        """Stop the replicas; predict answers 503 until ``start``."""
        return self._change(ref, "stop", project)

    def start(self, ref: str, *, project: str | None = None) -> EndpointDetail:
        return self._change(ref, "start", project)

    def rollback(
        self, ref: str, *, reason: str | None = None, project: str | None = None
    ) -> EndpointDetail:
        """The newest version ends rolled back; the one before takes all traffic."""
        return self._change(ref, "rollback", project, json={"reason": reason} if reason else None)

    def delete(self, ref: str, *, project: str | None = None) -> None:
        """Stop the replicas, then delete the endpoint with its versions, log and stats."""
        self._on(ref, project, lambda r: self._http.request("DELETE", self._path(project, r)))

    def rotate_key(self, ref: str, *, project: str | None = None) -> EndpointKey:
        """A new key, shown only here; the old one stops working at once."""
        return self._on(
            ref,
            project,
            lambda r: self._http.call("POST", self._path(project, r, "key", "rotate"), EndpointKey),
        )

    def _change(
        self, ref: str, action: str, project: str | None, json: Any = None
    ) -> EndpointDetail:
        return self._on(
            ref,
            project,
            lambda r: self._http.call(
                "POST", self._path(project, r, action), EndpointDetail, json=json
            ),
        )

    # -- waiting ----------------------------------------------------------------------------

    def watch(
        self, ref: str, version: int, *, poll: float = 0.5, project: str | None = None
    ) -> Iterator[DeployProgress]:
        """Looks at a deploy of ``version`` until it serves (a ready replica of it, the
        endpoint running) or failed; the caller stops iterating for a timeout."""
        while True:
            shown = self.show(ref, project=project)
            progress = deploy_progress(shown, version)
            yield progress
            if progress.done:
                return
            time.sleep(poll)

    # -- predicting -------------------------------------------------------------------------

    def predict(
        self,
        slug: str,
        input_params: Any = None,
        *,
        key: str | None = None,
        files: FilePath | Sequence[FilePath] | None = None,
        project: str | None = None,
    ) -> Prediction:
        """Call the endpoint: ``{"input_params": input_params}`` (or, with ``files``, each
        file's content in base64 for an accept-files endpoint) answers ``{"prediction": ...}``.
        With ``key``, the public route ``/api/v1/endpoints/<slug>/predict``; without, the
        project's try route as the logged-in user (jobs read on its project)."""
        body = {"input_params": encode_files(files) if files is not None else input_params}
        if key is not None:
            path = f"/endpoints/{segment(slug)}/predict"
            headers = {"Authorization": f"Bearer {key}"}
            response = self._http.request("POST", path, json=body, headers=headers, check=False)
            return self._answer(response, slug)
        return self._on(
            slug,
            project,
            lambda r: self._answer(
                self._http.request(
                    "POST", self._path(project, r, "predict"), json=body, check=False
                ),
                slug,
            ),
        )

    def replay(self, ref: str, request_id: int, *, project: str | None = None) -> Prediction:
        """Send a logged request's input again; what the endpoint answers now."""
        return self._on(
            ref,
            project,
            lambda r: self._answer(
                self._http.request(
                    "POST",
                    self._path(project, r, "requests", str(request_id), "replay"),
                    check=False,
                ),
                ref,
            ),
        )

    def _answer(self, response: httpx.Response, slug: str) -> Prediction:
        request_id = response.headers.get("x-request-id", "")
        if response.is_error:
            raise prediction_error(self._http.error(response), response, slug)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or "prediction" not in answer:
            raise HeadwaterError(
                f"endpoint {slug!r} answered without a prediction",
                where=f"endpoint {slug}",
                hint="Is the URL a Headwater server of this client's version?",
            )
        return Prediction(prediction=answer["prediction"], request_id=request_id)

    # -- names ------------------------------------------------------------------------------

    def _on(self, ref: str, project: str | None, call: Callable[[str], T]) -> T:
        """``call(ref)``; when the project has no endpoint by that title or id, ``call`` with
        the id of the one whose URL slug it is, if any (else the first NotFound stands)."""
        try:
            return call(ref)
        except NotFound:
            found = self._by_slug(ref, project)
            if found is None or found == ref:
                raise
        return call(found)

    def _by_slug(self, slug: str, project: str | None) -> str | None:
        page = self.list(limit=SLUG_SCAN, project=project)
        return next((e.id for e in page.items if e.slug == slug), None)


def deploy_progress(shown: EndpointDetail, version: int) -> DeployProgress:
    """Where a deploy of ``version`` stands (pure: the CLI's status line and tests use it)."""
    ready = sum(1 for r in shown.replicas if r.version == version and r.state == "ready")
    mine = next((v for v in shown.versions if v.number == version), None)
    failed: str | None = None
    if mine is None:
        failed = f"version {version} is gone (the endpoint was redeployed or deleted)"
    elif mine.state in ENDED_VERSIONS:
        failed = f"version {version} {mine.state.replace('_', ' ')}" + (
            f": {mine.reason}" if mine.reason else ""
        )
    elif shown.status == FAILED:
        failed = "the endpoint failed: no version could start"
    serving = shown.status == "running" and ready > 0
    return DeployProgress(
        endpoint=shown,
        version=version,
        ready=ready,
        done=serving or failed is not None,
        failed=failed,
    )


def encode_files(files: FilePath | Sequence[FilePath]) -> str | list[str]:
    """Each file's bytes as base64: one string for one path, a list for a list."""
    if isinstance(files, str | Path):
        return _b64(Path(files))
    return [_b64(Path(f)) for f in files]


def _b64(path: Path) -> str:
    try:
        return base64.b64encode(path.read_bytes()).decode("ascii")
    except OSError as exc:
        raise InvalidInput(
            f"cannot read {path}: {exc.strerror or exc}",
            where=str(path),
            hint="Name a file that exists and that you can read.",
        ) from exc


def prediction_error(error: HeadwaterError, response: httpx.Response, slug: str) -> HeadwaterError:
    """The error, with the request id the endpoint gave it (its log is keyed by it) and, for
    a function that raised, where its traceback is."""
    request_id = response.headers.get("x-request-id")
    try:
        code = response.json().get("error")
    except (ValueError, AttributeError):
        code = None
    detail = error.detail + (f" (request {request_id})" if request_id else "")
    hint = error.hint
    if code == "prediction_failed":
        hint = (
            f"The function raised; its traceback is in the endpoint's log under this request "
            f"id: `hw endpoint logs {slug}`."
        )
    made = type(error)(detail, where=error.where or f"endpoint {slug}", hint=hint)
    made.__dict__["http_status"] = response.status_code
    made.__dict__["request_id"] = request_id
    return made

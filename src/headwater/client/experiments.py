"""Experiments: create a grid of them, follow them, read their logs and metrics."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from typing import Any

from headwater.client.http import payload
from headwater.client.scope import ProjectScoped
from headwater.domain.errors import InvalidInput
from headwater.domain.jobs import JobState
from headwater.schemas.common import Page
from headwater.schemas.experiments import (
    ExperimentColumnsOut,
    ExperimentCreate,
    ExperimentOut,
    LogsOut,
    MetricPoint,
    MetricSeries,
)

ExperimentList = list[ExperimentOut]
SeriesList = list[MetricSeries]


MIN_POLL = 0.02  # how often `wait` may look at most, when the last of many is about to end


class ExperimentsClient(ProjectScoped):
    resource = "experiments"

    def create(
        self,
        command: str,
        runs: Sequence[dict[str, str]] | None = None,
        *,
        title: str = "",
        computes: Sequence[str] = (),
        commit: str | None = None,
        output_dir: str | None = None,
        options: dict[str, Any] | None = None,
        git_branch: str | None = None,
        git_commit: str | None = None,
        project: str | None = None,
    ) -> ExperimentList:
        """One queued experiment per entry of ``runs`` (parameter combinations).
        ``git_branch`` / ``git_commit``: the checkout of the project's linked Git repository."""
        git = {k: v for k, v in (("git_branch", git_branch), ("git_commit", git_commit)) if v}
        body = payload(
            ExperimentCreate,
            command=command,
            runs=list(runs or [{}]),
            title=title,
            computes=list(computes),
            commit=commit,
            output_dir=output_dir,
            options=options or {},
            **git,
        )
        return self._http.call("POST", self._path(project), ExperimentList, json=body)

    def list(
        self,
        *,
        state: JobState | None = None,
        ended: bool | None = None,
        numbers: tuple[int, int] | None = None,
        title: str | None = None,
        title_prefix: str | None = None,
        filter: str | None = None,
        sort: str = "number",
        desc: bool = True,
        offset: int = 0,
        limit: int = 100,
        project: str | None = None,
    ) -> Page[ExperimentOut]:
        """A page, newest first unless ``sort`` and ``desc`` say otherwise. ``sort`` is a
        built-in column (number, title, status, created, started, ended, duration) or any
        param, tag or metric (``params.lr``, ``metrics.loss.min``, ``accuracy``); ``filter`` an
        expression such as ``lr > 0.1 and accuracy >= 0.9`` (docs/experiments.md). Both run in
        the server's database: the best of many thousands of runs is one call
        (``list(sort="metrics.accuracy.max", limit=1)``). ``numbers`` is an inclusive range of
        experiment numbers, ``title`` an exact title, ``title_prefix`` the start of one."""
        params: dict[str, str | int | bool | None] = {
            "offset": offset,
            "limit": limit,
            "sort": sort,
            "desc": desc,
            "filter": filter or None,
            "state": state.value if state else None,
            "ended": ended,
            "first": numbers[0] if numbers else None,
            "last": numbers[1] if numbers else None,
            "title": title,
            "title_prefix": title_prefix,
        }
        return self._http.call("GET", self._path(project), Page[ExperimentOut], params=params)

    def columns(self, *, project: str | None = None) -> ExperimentColumnsOut:
        """The param, tag and metric keys of the project's experiments (what ``filter`` and
        ``sort`` may name)."""
        return self._http.call("GET", self._path(project, "columns"), ExperimentColumnsOut)

    def get(self, ref: str, *, project: str | None = None) -> ExperimentOut:
        """By id or by number."""
        return self._http.call("GET", self._path(project, ref), ExperimentOut)

    def stop(self, ref: str, *, project: str | None = None) -> ExperimentOut:
        return self._http.call("POST", self._path(project, ref, "stop"), ExperimentOut)

    def logs(
        self, ref: str, *, after: int = 0, limit: int = 1000, project: str | None = None
    ) -> LogsOut:
        path = self._path(project, ref, "logs")
        return self._http.call("GET", path, LogsOut, params={"after": after, "limit": limit})

    def follow(
        self, ref: str, *, poll: float = 0.5, project: str | None = None
    ) -> Iterator[LogsOut]:
        """Pages of new output until the experiment has ended and all of it was read."""
        after = 0
        while True:
            page = self.logs(ref, after=after, limit=5000, project=project)
            if page.chunks:
                yield page
            after = page.next_seq
            if page.state.terminal and not page.chunks:
                return
            if not page.chunks:
                time.sleep(poll)

    def wait(
        self, made: Sequence[ExperimentOut], *, poll: float = 0.25, project: str | None = None
    ) -> ExperimentList:
        """Block until every one has ended. Each poll is one count of those not ended yet (a
        grid of hundreds must not load the server while it waits); then one read of them.
        Polls come every ``poll`` seconds, sooner when the pace at which they end says the
        last will end sooner (short tasks: the wait does not outlast them by a whole poll)."""
        if not made:
            return []
        # one creation numbers its experiments consecutively: the range is exactly these
        numbers = (min(e.number for e in made), max(e.number for e in made))
        wanted = {e.id for e in made}
        last, at = len(made), time.monotonic()
        while left := self.list(ended=False, numbers=numbers, limit=1, project=project).total:
            now = time.monotonic()
            pause = poll
            if left < last:  # at the pace since the last look, the rest ends in `left / rate`
                pause = min(poll, max(MIN_POLL, left * (now - at) / (last - left)))
            last, at = left, now
            time.sleep(pause)
        done: dict[str, ExperimentOut] = {}
        offset = 0
        while len(done) < len(wanted):
            page = self.list(numbers=numbers, offset=offset, limit=1000, project=project)
            done.update((e.id, e) for e in page.items if e.id in wanted)
            offset += len(page.items)
            if not page.items:
                break
        return [done[e.id] for e in made if e.id in done]

    def metrics(
        self, ref: str, *, key: str | None = None, project: str | None = None
    ) -> SeriesList:
        path = self._path(project, ref, "metrics")
        params: dict[str, str | int | bool | None] = {"key": key}
        return self._http.call("GET", path, SeriesList, params=params)

    def log_metrics(
        self,
        ref: str,
        points: Sequence[MetricPoint],
        *,
        project: str | None = None,
        batch: str | None = None,
    ) -> int:
        """Store points ``(key, step, value, time)``; a non-finite value is refused here, as
        the server would (JSON has no spelling for it). ``batch``: an id that makes resending
        the same batch store it once (a retry after a lost answer)."""
        for i, (key, _, value, at) in enumerate(points):
            if not math.isfinite(value) or (at is not None and not math.isfinite(at)):
                raise InvalidInput(
                    f"metric {key!r} has a value or time that is not a finite number ({value})",
                    where=f"points[{i}]",
                    hint="Log finite numbers only; leave out NaN and Infinity.",
                )
        body: dict[str, object] = {"points": [list(p) for p in points]}
        if batch is not None:
            body["batch"] = batch
        answer = self._http.call(
            "POST", self._path(project, ref, "metrics"), dict[str, int], json=body
        )
        return answer["stored"]

    def log_values(
        self, ref: str, kind: str, values: dict[str, str], *, project: str | None = None
    ) -> None:
        self._http.request(
            "POST", self._path(project, ref, "values"), json={"kind": kind, "values": values}
        )

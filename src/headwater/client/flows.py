"""Flows (seed 002): import YAML files as versions, run them, follow and steer their runs.

A flow is named by its ``flow:`` title; a run ("bake") by its number in the project or its
id. Names and task titles may hold spaces and slashes: every one is quoted as one path
segment, so a title can never reach another route.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from headwater.client.http import payload, segment
from headwater.client.scope import ProjectScoped
from headwater.domain.errors import HeadwaterError
from headwater.domain.flowruns import TaskState
from headwater.domain.jobs import JobState
from headwater.schemas.common import Page
from headwater.schemas.flows import (
    CacheCleared,
    Decision,
    FlowImport,
    FlowOut,
    FlowRestart,
    FlowRunCreate,
    FlowRunOut,
    FlowVersionOut,
    InstanceOut,
    ParamOverrides,
    TriggerCreate,
    TriggerOut,
)

if TYPE_CHECKING:
    from headwater.schemas.endpoints import EndpointOut

VersionList = list[FlowVersionOut]
TriggerList = list[TriggerOut]
RunRef = FlowRunOut | str | int
MAX_FILE_NAME = 255  # FlowImport.file_name
FIRST_POLL = 0.05  # a run's first look comes this soon: a cached or short run ends within moments
MIN_POLL = 0.02  # the closest looks, when the pace says the last instances are about to end
ENDED = frozenset(s.value for s in JobState if s.terminal)  # an instance's states that are ends


def left_in(run: FlowRunOut) -> int:
    """What the run still has to do, counted in instances: a running task's instances not
    ended, and at least one for a task that has not started (its count is not known yet)."""
    left = 0
    for task in run.tasks:
        if task.status.terminal:
            continue
        ended = sum(n for state, n in task.counts.items() if state in ENDED)
        left += max(1 if task.status is not TaskState.RUNNING else 0, task.total - ended)
    return left


class Pace:
    """How long ``watch`` waits before its next look: ``FIRST_POLL`` at first, doubling up to
    ``poll`` while the run is young; sooner once the pace at which its instances end says the
    rest ends sooner (the wait does not outlast a run of short tasks by a whole poll). With
    ``longest`` above ``poll`` (a wait that shows nothing), looks come that far apart while
    the pace says the end is far off: each look counts every instance of the run."""

    def __init__(self, poll: float, longest: float | None = None) -> None:
        self.poll = poll
        self.longest = max(poll, longest or poll)
        self.young = min(FIRST_POLL, poll)
        self.last: int | None = None
        self.at = 0.0

    def pause(self, left: int, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        pause = self.young
        self.young = min(self.poll, 2 * self.young)
        if self.last is not None and left < self.last:  # at this pace the rest ends in ...
            due = left * (now - self.at) / (self.last - left)
            pause = min(pause, max(MIN_POLL, due))
            if due > 4 * self.longest and pause >= self.poll:  # not young, and far off
                pause = self.longest
        self.last, self.at = left, now
        return pause


def run_ref(run: RunRef) -> str:
    """A run's number (what people type) or id, from a run or either of those."""
    if isinstance(run, FlowRunOut):
        return str(run.number)
    return str(run)


class FlowsClient(ProjectScoped):
    resource = "flows"

    def _runs(self, project: str | None, *parts: str) -> str:
        tail = "".join("/" + segment(p) for p in parts)
        return f"/projects/{segment(self._scope.id(project))}/flow-runs{tail}"

    # flows and their versions

    def import_yaml(
        self, text: str, *, file_name: str = "flow.yaml", project: str | None = None
    ) -> FlowOut:
        """Store a flow file; a changed file makes a new version (``created`` says so).
        An invalid file raises ``InvalidInput`` whose ``where`` is ``FILE:LINE key``."""
        body = payload(FlowImport, yaml=text, file_name=file_name)
        return self._http.call("POST", self._path(project), FlowOut, json=body)

    def import_file(self, path: Path | str, *, project: str | None = None) -> FlowOut:
        """``import_yaml`` of a file on disk, named as given so errors point into it."""
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise HeadwaterError(
                f"cannot read the flow file: {exc}",
                where=str(file),
                hint="Give the path of a UTF-8 YAML file, e.g. --file flow.yaml.",
            ) from exc
        # errors name the file as the user wrote it, unless that is too long to travel
        shown = str(path) if len(str(path)) <= MAX_FILE_NAME else file.name[-MAX_FILE_NAME:]
        return self.import_yaml(text, file_name=shown, project=project)

    def list(
        self, *, offset: int = 0, limit: int = 100, project: str | None = None
    ) -> Page[FlowOut]:
        params: dict[str, str | int | bool | None] = {"offset": offset, "limit": limit}
        return self._http.call("GET", self._path(project), Page[FlowOut], params=params)

    def get(self, name: str, *, project: str | None = None) -> FlowOut:
        return self._http.call("GET", self._path(project, name), FlowOut)

    def delete(self, name: str, *, project: str | None = None) -> None:
        self._http.request("DELETE", self._path(project, name))

    def versions(self, name: str, *, project: str | None = None) -> VersionList:
        return self._http.call("GET", self._path(project, name, "versions"), VersionList)

    def version(
        self, name: str, number: int | None = None, *, project: str | None = None
    ) -> FlowVersionOut:
        """One version with its YAML; the latest when ``number`` is None."""
        if number is None:
            number = self.get(name, project=project).latest_version
        path = self._path(project, name, "versions", str(number))
        return self._http.call("GET", path, FlowVersionOut)

    def export(self, name: str, number: int | None = None, *, project: str | None = None) -> str:
        """The YAML of a version (the latest by default), as the server stores it."""
        return self.version(name, number, project=project).yaml or ""

    # runs ("bakes")

    def run(
        self,
        name: str,
        *,
        version: int | None = None,
        only: str | None = None,
        inputs_from: RunRef | None = None,
        params: ParamOverrides | None = None,
        no_cache: bool = False,
        refresh: Sequence[str] = (),
        project: str | None = None,
    ) -> FlowRunOut:
        """Start a run. ``only`` runs one task (its parents' instances ``inputs_from`` an
        earlier run); ``params`` replaces task params, saved as a new version first.
        ``no_cache`` runs every task whatever the step cache holds; ``refresh`` those tasks."""
        fields: dict[str, object] = {}
        if no_cache:
            fields["no_cache"] = True
        if refresh:
            fields["refresh"] = list(refresh)
        if version is not None:
            fields["version"] = version
        if only is not None:
            fields["only"] = only
        if inputs_from is not None:
            fields["inputs_from"] = run_ref(inputs_from)
        if params:
            fields["params"] = params
        body = payload(FlowRunCreate, **fields)
        return self._http.call("POST", self._path(project, name, "runs"), FlowRunOut, json=body)

    def runs(
        self,
        *,
        flow: str | None = None,
        offset: int = 0,
        limit: int = 100,
        project: str | None = None,
    ) -> Page[FlowRunOut]:
        """The project's runs, newest first; only one flow's with ``flow``."""
        params: dict[str, str | int | bool | None] = {
            "flow": flow,
            "offset": offset,
            "limit": limit,
        }
        return self._http.call("GET", self._runs(project), Page[FlowRunOut], params=params)

    def inspect(
        self,
        run: RunRef,
        *,
        instances: bool = True,
        instance_limit: int | None = None,
        project: str | None = None,
    ) -> FlowRunOut:
        """A run with its tasks, the first instances of each (``instance_limit``, the
        server's default 100), and the relations between tasks; with ``instances=False``
        each task carries only its instances' counts by state (cheap). Page the rest with
        ``instances_page``."""
        params: dict[str, str | int | bool | None] = {"instances": instances}
        if instance_limit is not None:
            params["instance_limit"] = instance_limit
        path = self._runs(project, run_ref(run))
        return self._http.call("GET", path, FlowRunOut, params=params)

    def instances_page(
        self,
        run: RunRef,
        *,
        task: str | None = None,
        status: str | None = None,
        offset: int = 0,
        limit: int = 100,
        project: str | None = None,
    ) -> Page[InstanceOut]:
        """One page of a run's instances (one task's, in one state), in the order made."""
        params: dict[str, str | int | bool | None] = {
            "task": task,
            "status": status,
            "offset": offset,
            "limit": limit,
        }
        path = self._runs(project, run_ref(run), "instances")
        return self._http.call("GET", path, Page[InstanceOut], params=params)

    def stop(self, run: RunRef, *, project: str | None = None) -> FlowRunOut:
        return self._http.call("POST", self._runs(project, run_ref(run), "stop"), FlowRunOut)

    def restart(
        self,
        run: RunRef,
        *,
        version: int | None = None,
        params: ParamOverrides | None = None,
        from_failed: bool = False,
        project: str | None = None,
    ) -> FlowRunOut:
        """A new run that keeps the tasks which succeeded and did not change; with
        ``from_failed`` every success of the run (tasks and instances), whatever changed."""
        fields: dict[str, object] = {}
        if from_failed:
            fields["from_failed"] = True
        if version is not None:
            fields["version"] = version
        if params:
            fields["params"] = params
        body = payload(FlowRestart, **fields)
        path = self._runs(project, run_ref(run), "restart")
        return self._http.call("POST", path, FlowRunOut, json=body)

    def clear_cache(
        self, name: str, task: str | None = None, *, project: str | None = None
    ) -> CacheCleared:
        """Forget the flow's step-cache results (only ``task``'s when given)."""
        params: dict[str, str | int | bool | None] = {"task": task}
        path = self._path(project, name, "cache")
        return self._http.call("DELETE", path, CacheCleared, params=params)

    def approve(
        self, run: RunRef, task: str, *, comment: str = "", project: str | None = None
    ) -> FlowRunOut:
        return self._decide(run, task, "approve", comment, project)

    def reject(
        self, run: RunRef, task: str, *, comment: str = "", project: str | None = None
    ) -> FlowRunOut:
        """Say no to a task pending approval: it is aborted, and so is the run."""
        return self._decide(run, task, "reject", comment, project)

    def _decide(
        self, run: RunRef, task: str, verb: str, comment: str, project: str | None
    ) -> FlowRunOut:
        body = payload(Decision, comment=comment)
        path = self._runs(project, run_ref(run), "tasks", task, verb)
        return self._http.call("POST", path, FlowRunOut, json=body)

    def watch(
        self,
        run: RunRef,
        *,
        poll: float = 0.5,
        longest: float | None = None,
        project: str | None = None,
    ) -> Iterator[FlowRunOut]:
        """The inspected run after each poll, the last one terminal. Polls read the tasks'
        counts only; the last one, the whole run. They come every ``poll`` seconds at most,
        sooner while the run is young (a run of cached or short tasks ends within moments)
        and when the pace at which its instances end says the rest ends sooner."""
        ref = run_ref(run)
        pace = Pace(poll, longest)
        while True:
            seen = self.inspect(ref, instances=False, project=project)
            if seen.status.terminal:
                yield self.inspect(ref, project=project)
                return
            yield seen
            time.sleep(pace.pause(left_in(seen)))

    def wait(
        self,
        run: RunRef,
        *,
        poll: float = 0.5,
        longest: float | None = None,
        timeout: float | None = None,
        on_update: Callable[[FlowRunOut], None] | None = None,
        project: str | None = None,
    ) -> FlowRunOut:
        """Block until the run has ended (success, failed or aborted) and return it.

        A run pending approval has not ended: it waits for ``approve``/``reject`` like any
        other step. ``on_update`` sees every poll; past ``timeout`` seconds this raises.
        ``longest``: how far apart looks may come while the end is far off (``Pace``).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        last: FlowRunOut | None = None
        for last in self.watch(run, poll=poll, longest=longest, project=project):
            if on_update is not None:
                on_update(last)
            if not last.status.terminal and deadline is not None and time.monotonic() > deadline:
                raise HeadwaterError(
                    f"run {last.number} is still {last.status.value} after {timeout:g} s",
                    where=f"run {last.number}",
                    hint=f"Wait longer, or see where it is with `hw inspect {last.number}`.",
                )
        assert last is not None  # watch yields at least once
        return last

    # triggers (continual learning)

    def triggers(self, name: str, *, project: str | None = None) -> TriggerList:
        return self._http.call("GET", self._path(project, name, "triggers"), TriggerList)

    def add_trigger(
        self, name: str, *, dataset: str | None = None, project: str | None = None
    ) -> TriggerOut:
        """Run the flow's latest version on each new version of ``dataset``, or, without
        one, when its webhook URL is called (the token is shown only in this answer)."""
        if dataset is not None:
            body = payload(TriggerCreate, kind="dataset", dataset=dataset)
        else:
            body = payload(TriggerCreate, kind="webhook")
        path = self._path(project, name, "triggers")
        return self._http.call("POST", path, TriggerOut, json=body)

    def remove_trigger(self, name: str, trigger_id: str, *, project: str | None = None) -> None:
        self._http.request("DELETE", self._path(project, name, "triggers", trigger_id))

    # endpoints

    def endpoints(
        self, *, offset: int = 0, limit: int = 50, project: str | None = None
    ) -> Page[EndpointOut]:
        """The endpoints deploy tasks defined, by title."""
        from headwater.schemas.endpoints import EndpointOut  # only `hw endpoints` reads them

        path = f"/projects/{segment(self._scope.id(project))}/endpoints"
        params: dict[str, str | int | bool | None] = {"offset": offset, "limit": limit}
        return self._http.call("GET", path, Page[EndpointOut], params=params)

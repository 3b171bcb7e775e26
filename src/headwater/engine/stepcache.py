"""The step cache at a task's start: which instances reuse an earlier result, which run.

Called by ``flowtasks.start_task`` for an exec task once its routes are expanded. For each
planned instance it computes the key (``domain.stepcache``) from what the instance will see,
and looks for a result of the same flow task under that key:

- a hit is a new instance that points at the earlier experiment (as a restart's kept
  instances do): it is a success from the start, no process runs, and its children read the
  earlier outputs and tags. ``data["cache"]`` says where it came from and holds the key's parts.
- a result whose outputs are gone from the object store is not a hit (a miss, said so).
- an identical instance still running in another run makes the whole task wait (it stays
  ``waiting``; the driver looks again on its next pass) and then hit: identical work at once
  computes once. ``StepCacheRepo.lock_task`` makes two starts take turns.
- a miss launches as before, records its key, and says why it missed: the parts that changed
  since the last run of the task, ``cache: none``, ``--no-cache``, ``--refresh``, expiry.

A restart ``--from-failed`` (``run.cache["reuse_run"]``) first reuses every instance that
succeeded in that run with the same params and parents, whatever the cache says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from headwater.db.repos.flowruns import RunRepo
from headwater.db.repos.settings import SettingsRepo
from headwater.db.repos.stepcache import StepCacheRepo
from headwater.db.repos.versions import VersionRepo
from headwater.domain.flowruns import FlowRun, RunInstance
from headwater.domain.flowspec.instances import Planned
from headwater.domain.flowspec.model import ExecTask
from headwater.domain.gitsource import git_source
from headwater.domain.grid import tag_env
from headwater.domain.ids import new_id
from headwater.domain.jobs import JobState
from headwater.domain.project_settings import ProjectSettings
from headwater.domain.stepcache import (
    CachedResult,
    CacheKey,
    KeyInputs,
    cache_key,
    changed_parts,
    format_life_span,
    last_run_of,
    serving,
    why_missed,
)
from headwater.engine.ports import ObjectsSource, TreeSource

_ROOT_FILES = ("requirements.txt", "prerun.sh")


@dataclass
class Consulted:
    """What the cache decided for a task's planned instances (by their index)."""

    hits: dict[int, RunInstance] = field(default_factory=dict)
    keys: dict[int, CacheKey] = field(default_factory=dict)
    why: dict[int, str] = field(default_factory=dict)
    waits_for: str | None = None  # the task waits: an identical instance runs elsewhere

    def summary(self, total: int) -> str | None:
        """The task's reason: how much the cache served."""
        if not self.hits:
            return None
        runs = sorted({i.data["cache"].get("from_run") for i in self.hits.values()} - {None})
        where = f" from run {', '.join(map(str, runs))}" if runs else ""
        if len(self.hits) == total:
            return f"cached{where}: no instance ran"
        return f"{len(self.hits)} of {total} instances cached{where}"


@dataclass(frozen=True)
class Stores:
    """The object store as the cache needs it: a tree's files, which objects are missing."""

    trees: TreeSource | None = None
    missing: ObjectsSource | None = None


def consult(
    session: Session,
    run: FlowRun,
    spec: ExecTask,
    planned: Sequence[Planned],
    known: Mapping[str, RunInstance],
    *,
    stores: Stores,
    now: datetime | None = None,
) -> Consulted:
    """Hits, keys and reasons for ``planned`` (see the module's docstring)."""
    now = now or datetime.now(UTC)
    out = Consulted()
    todo = list(range(len(planned)))
    reuse_run = run.cache.get("reuse_run")
    if reuse_run:
        _reuse(session, str(reuse_run), run, spec, planned, known, out, todo, now)
    if not spec.cache.on:
        out.why.update(dict.fromkeys(todo, "cache: none"))
        return out
    cache = StepCacheRepo(session)
    cache.lock_task(run.flow_id, spec.title)
    inputs = _Inputs(session, run, spec, planned, known, stores)
    for i in todo:
        key = inputs.key(planned[i])
        if key is not None:
            out.keys[i] = key
        else:
            out.why[i] = inputs.uncacheable or "cannot be cached"
    looking = [i for i in todo if i in out.keys]
    if run.cache.get("off"):
        out.why.update(dict.fromkeys(looking, "--no-cache"))
        return out
    if spec.title in run.cache.get("refresh", ()):
        out.why.update(dict.fromkeys(looking, "--refresh"))
        return out
    stored = cache.with_keys(run.flow_id, spec.title, [out.keys[i].key for i in looking])
    outputs = _Outputs(cache, stores, stored)
    by_key: dict[str, list[CachedResult]] = {}
    for result in stored:  # grouped once: a fan-out of thousands looks each key up
        by_key.setdefault(result.key, []).append(result)
    recent: list[CachedResult] | None = None
    for i in looking:
        key = out.keys[i]
        same = by_key.get(key.key, [])
        hit, gone = outputs.first(serving(same, spec.cache.life_span, now))
        if hit is not None:
            out.hits[i] = _hit(run, planned[i], hit, key, now)
            continue
        running = [r for r in same if not r.state.terminal and r.run_id != run.id]
        if running:
            first = running[-1]
            out.waits_for = (
                f"waits for run {first.run_number}'s identical instance (experiment "
                f"{first.experiment_number}) to end, to reuse its result"
            )
            return out
        if gone is not None:
            out.why[i] = f"the outputs of experiment {gone.experiment_number} are gone"
        elif any(r.state is JobState.SUCCESS for r in same):
            span = format_life_span(spec.cache.life_span)
            out.why[i] = f"the earlier result is older than its life span ({span})"
        else:
            if recent is None:
                recent = cache.recent(run.flow_id, spec.title)
            last = last_run_of(recent, key.parts["params"])
            changed = changed_parts(key.parts, last.parts) if last else []
            out.why[i] = why_missed(changed, last.run_number if last else None)
    return out


def record(
    session: Session,
    run: FlowRun,
    spec: ExecTask,
    consulted: Consulted,
    made: Sequence[RunInstance],
) -> list[RunInstance]:
    """After the misses launched (``made``, in plan order with the hits): their keys stored as
    results later runs may reuse, and each instance's ``data["cache"]`` (key parts, why)."""
    out = []
    launched = []
    for i, instance in enumerate(made):
        if i in consulted.hits:
            out.append(instance)
            continue
        key = consulted.keys.get(i)
        note: dict[str, Any] = {"hit": False, "why": consulted.why.get(i, "")}
        if key is not None:
            note.update(key=key.key, parts=key.parts)
            if instance.experiment_id:
                launched.append((instance.id, instance.experiment_id, key))
        out.append(replace(instance, data={**instance.data, "cache": note}))
    if launched:
        StepCacheRepo(session).record(
            project_id=run.project_id,
            flow_id=run.flow_id,
            task=spec.title,
            run_id=run.id,
            launched=launched,
        )
    return out


# -- the parts ---------------------------------------------------------------------------------


class _Inputs:
    """What every instance of the task shares (settings, files), read once; then each
    instance's own key."""

    def __init__(
        self,
        session: Session,
        run: FlowRun,
        spec: ExecTask,
        planned: Sequence[Planned],
        known: Mapping[str, RunInstance],
        stores: Stores,
    ) -> None:
        self.spec, self.known = spec, known
        self.uncacheable: str | None = None
        settings: ProjectSettings = SettingsRepo(session).get(run.project_id)
        where, who = f"tasks.{spec.title}", f"task {spec.title!r}"
        git = git_source(settings.git, spec.git_branch, spec.git_commit, where=where, who=who)
        self.files: dict[str, Any]
        self.requirements: dict[str, Any] = {"use": spec.requirements, "prerun": spec.prerun}
        self.requirements.update(dict.fromkeys(_ROOT_FILES))  # absent until a tree has them
        if git is not None:
            self.files = {"git": {"repo": git.repo, "commit": git.commit}}
            if git.commit is None:
                self.uncacheable = (
                    f"it runs the tip of Git branch {git.branch!r}, unknown until it runs "
                    "(pin git_commit to cache it)"
                )
        else:
            versions = VersionRepo(session)
            head = versions.head(versions.files_repo(run.project_id).id)
            self.files = {"tree": head.tree if head else None}
            if head is not None and stores.trees is not None:
                entries = {e.path: e.hash for e in stores.trees(head.tree).entries}
                self.requirements.update({name: entries.get(name) for name in _ROOT_FILES})
        self.env = dict(settings.env)
        self.options = {
            "output_dir": spec.output_dir or settings.output_dir,
            "working_dir": settings.working_dir,
            "cnvrg_env": settings.cnvrg_env,
        }
        parents = {known[u.instance].experiment_id for plan in planned for u in plan.inputs}
        self.trees = StepCacheRepo(session).output_trees(sorted(p for p in parents if p))

    def key(self, plan: Planned) -> CacheKey | None:
        if self.uncacheable is not None:
            return None
        known = self.known
        datasets = [
            {
                "name": known[u.instance].data.get("dataset"),
                "commit": known[u.instance].data.get("commit"),
                "filter": known[u.instance].data.get("filter"),
            }
            for u in plan.datasets
        ]
        inputs = [
            {"folder": u.folder, "outputs": self.trees.get(known[u.instance].experiment_id or "")}
            for u in plan.inputs
            if known[u.instance].experiment_id
        ]
        return cache_key(
            KeyInputs(
                command=self.spec.command,
                params=dict(plan.params),
                env=self.env,
                files=self.files,
                requirements=self.requirements,
                image=self.spec.image,
                datasets=datasets,
                inputs=inputs,
                tags=_read_tags(plan),
                options={**self.options, "passed": sorted(plan.passed_condition)},
            )
        )


def _read_tags(plan: Planned) -> dict[str, str]:
    """The earlier tasks' tags it sees (its own params' ``HW_TAG_`` copies are ``params``)."""
    own = tag_env(plan.params)
    return {k: v for k, v in plan.env.items() if own.get(k) != v}


# -- hits ------------------------------------------------------------------------------------


class _Outputs:
    """Whether a stored result's outputs are all still there: its commit's tree and every
    blob in it. Trees are read once per task start (a fan-out's hits often share one), and
    the commits' trees come in one query."""

    def __init__(self, cache: StepCacheRepo, stores: Stores, results: Sequence[CachedResult]):
        self.stores = stores
        commits = sorted({r.output_commit for r in results if r.output_commit})
        self.trees = cache.trees_of(commits)
        self.seen: dict[str, bool] = {}

    def present(self, result: CachedResult) -> bool:
        if result.output_commit is None:
            return True  # it left no outputs: nothing to lose
        tree = self.trees.get(result.output_commit)
        if tree is None:
            return False
        if tree not in self.seen:
            self.seen[tree] = self._stored(tree)
        return self.seen[tree]

    def _stored(self, tree: str) -> bool:
        trees, missing = self.stores.trees, self.stores.missing
        if trees is None or missing is None:
            return True
        try:
            entries = trees(tree).entries
        except Exception:  # the tree object itself is gone (or unreadable): not a hit
            return False
        return not missing([tree, *(e.hash for e in entries)])

    def first(
        self, candidates: Sequence[CachedResult]
    ) -> tuple[CachedResult | None, CachedResult | None]:
        """The newest candidate whose outputs are all stored, and the newest that was not."""
        gone = None
        for candidate in candidates:
            if self.present(candidate):
                return candidate, gone
            gone = gone or candidate
        return None, gone


def _hit(
    run: FlowRun, plan: Planned, result: CachedResult, key: CacheKey, now: datetime
) -> RunInstance:
    note = {
        "hit": True,
        "key": key.key,
        "parts": key.parts,
        "from_run": result.run_number,
        "from_instance": result.instance_id,
        "experiment_id": result.experiment_id,
        "experiment_number": result.experiment_number,
    }
    return _taken_over(run, plan, result.experiment_id, note, now)


def _taken_over(
    run: FlowRun, plan: Planned, experiment_id: str, note: dict[str, Any], now: datetime
) -> RunInstance:
    """The planned instance as already done, by an earlier run's experiment: a success that
    ran nothing, ``note`` (a cache hit, or a --from-failed reuse) saying whose result it is."""
    return RunInstance(
        id=new_id(),
        run_id=run.id,
        task=plan.task,
        experiment_id=experiment_id,
        state=JobState.SUCCESS,
        params=dict(plan.params),
        parents=plan.parent_ids,
        data={"cache": note},
        created_at=now,
        ended_at=now,
    )


# -- restart --from-failed ---------------------------------------------------------------------


def _identity(instance: RunInstance) -> str:
    """What a parent is, across runs: its experiment, or (data tasks) what it resolved to."""
    if instance.experiment_id:
        return instance.experiment_id
    data = instance.data
    return f"{data.get('dataset')}@{data.get('commit')}:{data.get('filter')}"


def _reuse(
    session: Session,
    source_id: str,
    run: FlowRun,
    spec: ExecTask,
    planned: Sequence[Planned],
    known: Mapping[str, RunInstance],
    out: Consulted,
    todo: list[int],
    now: datetime,
) -> None:
    """Each planned instance that succeeded in the source run (same params, same parents)
    is reused as it is: the user asked to go on from where that run failed."""
    runs = RunRepo(session)
    source = runs.run(source_id)
    earlier = runs.instances(source_id)
    by_id = {i.id: i for i in earlier}

    def ident(params: Mapping[str, str], parents: Sequence[str], pool: Mapping[str, Any]) -> str:
        names = sorted(_identity(pool[p]) for p in parents if p in pool)
        return repr((sorted(params.items()), names))

    done = {
        ident(i.params, i.parents, by_id): i
        for i in earlier
        if i.task == spec.title and i.state is JobState.SUCCESS and i.experiment_id
    }
    for index in list(todo):
        plan = planned[index]
        match = done.get(ident(plan.params, plan.parent_ids, known))
        if match is None or match.experiment_id is None:
            continue
        note = {
            "hit": True,
            "kept": True,
            "from_run": source.number,
            "from_instance": match.id,
            "experiment_id": match.experiment_id,
            "experiment_number": match.number,
        }
        out.hits[index] = _taken_over(run, plan, match.experiment_id, note, now)
        todo.remove(index)

"""The step cache's rules: a task instance's cache key, its parts, and when a result is fresh.

A key is a digest of everything that determines an instance's result: the command and its
evaluated params, the project's non-secret env, the files it runs on (the start commit's tree,
or the Git checkout), the requirements and prerun files with the image, the datasets' commits
and queries, the parents' outputs (their trees, so a parent recomputed to the same bytes still
hits) and the tags it reads. Not the compute template or the executor: a result made on one
machine serves another. Secrets are left out (their values must never reach a stored digest),
so a task whose result depends on a secret's value wants ``cache: none``.

The key keeps its parts (part -> digest): a miss compares them with the last run of the same
task and says which changed ("why not cached"). Pure: the engine gathers the inputs
(``engine/stepcache.py``) and the clock is an argument.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from headwater.domain.jobs import JobState

# The parts of a key, in the order a "why not cached" lists them.
PARTS = (
    "command",
    "params",
    "env",
    "files",
    "requirements",
    "image",
    "datasets",
    "inputs",
    "tags",
    "options",
)
DEFAULT_LIFE_SPAN = 14 * 86400  # seconds: neuro-flow's default
MAX_LIFE_SPAN = 3650 * 86400
_SPAN = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
SPAN_HINT = "Write a span as days, hours, minutes and seconds: 14d, 1d12h, 90m or 3600s."


class CacheSpecError(ValueError):
    """A ``cache:`` value that cannot be read; ``key`` names the sub-key at fault."""

    def __init__(self, detail: str, hint: str, key: str = "") -> None:
        super().__init__(detail)
        self.detail, self.hint, self.key = detail, hint, key


@dataclass(frozen=True)
class CachePolicy:
    """A task's ``cache:``: ``default`` reuses a result younger than ``life_span`` seconds;
    ``none`` always runs the task."""

    strategy: Literal["default", "none"] = "default"
    life_span: int = DEFAULT_LIFE_SPAN

    @property
    def on(self) -> bool:
        return self.strategy == "default"

    def to_yaml(self) -> str | dict[str, Any]:
        """As a file writes it: ``none``, ``default`` or ``{life_span: 14d}``."""
        if self.life_span == DEFAULT_LIFE_SPAN:
            return self.strategy
        out: dict[str, Any] = {"life_span": format_life_span(self.life_span)}
        return out if self.on else {"strategy": self.strategy, **out}


def parse_life_span(value: Any) -> int:
    """``14d``, ``1d12h``, ``90m``, ``3600s`` or a number of seconds -> seconds."""
    if isinstance(value, bool) or value is None:
        raise CacheSpecError(f"life_span {value!r} is not a span of time", SPAN_HINT, "life_span")
    if isinstance(value, int | float):
        seconds = int(value)
    else:
        found = _SPAN.match(str(value).strip().lower())
        if found is None or not any(found.groups()):
            raise CacheSpecError(
                f"life_span {value!r} is not a span of time", SPAN_HINT, "life_span"
            )
        seconds = sum(
            int(g or 0) * unit for g, (_, unit) in zip(found.groups(), _UNITS, strict=True)
        )
    if not 0 < seconds <= MAX_LIFE_SPAN:
        raise CacheSpecError(
            f"life_span {value!r} is out of range",
            "Give at least 1s and at most 3650d.",
            "life_span",
        )
    return seconds


def format_life_span(seconds: int) -> str:
    """Seconds as the shortest span that reads back equal (``1209600`` -> ``14d``)."""
    out = []
    for name, unit in _UNITS:
        count, seconds = divmod(seconds, unit)
        if count:
            out.append(f"{count}{name}")
    return "".join(out) or "0s"


def parse_cache(value: Any) -> CachePolicy:
    """A task's ``cache:`` as written: ``none``, ``default``, or a mapping with ``strategy``
    and ``life_span`` (neuro-flow's keys). Raises ``CacheSpecError``."""
    hint = "Write cache: none, cache: default, or cache: {life_span: 14d}."
    if isinstance(value, CachePolicy):
        return value
    if value is None:
        return CachePolicy()
    if isinstance(value, str):
        if value.strip() in ("none", "default"):
            return CachePolicy(strategy=value.strip())  # type: ignore[arg-type]
        raise CacheSpecError(f"cache {value!r} is not none or default", hint)
    if not isinstance(value, Mapping):
        raise CacheSpecError(f"cache {value!r} is not none, default or a mapping", hint)
    unknown = sorted(set(map(str, value)) - {"strategy", "life_span"})
    if unknown:
        raise CacheSpecError(
            f"unknown key {unknown[0]!r} in cache", "Keys: strategy, life_span.", unknown[0]
        )
    strategy = value.get("strategy", "default")
    if strategy not in ("none", "default"):
        raise CacheSpecError(f"strategy {strategy!r} is not none or default", hint, "strategy")
    span = value.get("life_span")
    seconds = DEFAULT_LIFE_SPAN if span is None else parse_life_span(span)
    return CachePolicy(strategy=strategy, life_span=seconds)


# -- keys -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyInputs:
    """What determines one instance's result, as the engine found it when the task started.

    ``files``: ``{"tree": digest}`` for the project's files, ``{"git": {...}}`` for a pinned
    Git commit. ``requirements``: the flags and the digests of ``requirements.txt`` and
    ``prerun.sh`` in those files. ``inputs``: each parent's input folder and output tree.
    ``tags``: the variables it reads from earlier tasks (``HW_<TASK>_<TAG>``).
    ``options``: what shapes the workspace (output and working folder, the cnvrg names, the
    parents that passed its condition).
    """

    command: str
    params: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, Any] = field(default_factory=dict)
    requirements: Mapping[str, Any] = field(default_factory=dict)
    image: str | None = None
    datasets: Sequence[Mapping[str, Any]] = ()
    inputs: Sequence[Mapping[str, Any]] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CacheKey:
    """The key and its parts (part -> digest), kept so a later miss can say what changed."""

    key: str
    parts: dict[str, str]


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _unordered(items: Sequence[Mapping[str, Any]]) -> list[Any]:
    """Parents and datasets as a set: the order a file lists relations in changes nothing."""
    return sorted((dict(i) for i in items), key=_digest)


def cache_key(inputs: KeyInputs) -> CacheKey:
    """The key of one instance: a digest over its parts' digests."""
    values: dict[str, Any] = {
        "command": inputs.command,
        "params": dict(inputs.params),
        "env": dict(inputs.env),
        "files": dict(inputs.files),
        "requirements": dict(inputs.requirements),
        "image": inputs.image,
        "datasets": _unordered(inputs.datasets),
        "inputs": _unordered(inputs.inputs),
        "tags": dict(inputs.tags),
        "options": dict(inputs.options),
    }
    parts = {name: _digest(values[name]) for name in PARTS}
    return CacheKey(key=_digest(parts), parts=parts)


def changed_parts(now: Mapping[str, str], before: Mapping[str, str]) -> list[str]:
    """The parts whose digest differs, in ``PARTS`` order."""
    return [p for p in PARTS if now.get(p) != before.get(p)]


def fresh(made_at: datetime | None, life_span: int, now: datetime) -> bool:
    """A result made at ``made_at`` still serves at ``now``."""
    return made_at is not None and now - made_at <= timedelta(seconds=life_span)


def why_missed(changed: Sequence[str], since_run: int | None) -> str:
    """A miss, said: ``params, files changed since run 4``, or that nothing ran before."""
    if since_run is None:
        return "no earlier run of this task"
    if not changed:
        return f"the result of run {since_run} cannot be reused"
    return f"{', '.join(changed)} changed since run {since_run}"


# -- stored results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CachedResult:
    """A stored result: the instance launched under ``key`` and its experiment as it is now
    (state, when it ended, its output commit: what a hit hands on)."""

    id: str
    task: str
    key: str
    parts: dict[str, str]
    run_id: str
    run_number: int
    instance_id: str
    experiment_id: str
    experiment_number: int
    state: JobState
    ended_at: datetime | None
    output_commit: str | None
    created_at: datetime


def serving(results: Sequence[CachedResult], life_span: int, now: datetime) -> list[CachedResult]:
    """Results that may serve a hit, newest first: succeeded within the life span."""
    good = [r for r in results if r.state is JobState.SUCCESS and fresh(r.ended_at, life_span, now)]
    return sorted(good, key=lambda r: r.ended_at or r.created_at, reverse=True)


def last_run_of(results: Sequence[CachedResult], params_part: str) -> CachedResult | None:
    """What a miss compares with: the newest result of the task with the same params (a grid
    instance against its own earlier self), else the newest of all."""
    newest = sorted(results, key=lambda r: r.created_at, reverse=True)
    same = [r for r in newest if r.parts.get("params") == params_part]
    pool = same or newest
    return pool[0] if pool else None

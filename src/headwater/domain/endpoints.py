"""Endpoints: their states and transition tables, titles and URL slugs, keys, replica bounds
and ``config_vars``.

An endpoint has versions (each deploy makes one; traffic moves between them) and each version
has replicas (tasks running ``python -m headwater.serving``). Three state machines, one per
level, each a table like ``jobs.py``: a late or repeated report cannot bring a rolled-back
version or a gone replica back to life.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Any

from headwater.domain.errors import Conflict, InvalidInput
from headwater.domain.naming import check_env_var

TITLE_MAX = 63  # a DNS label's length: the slug is part of a URL
MAX_REPLICAS = 64  # per version; a typo like 1000 must not start a thousand processes
KEY_PREFIX = "hwe_"
SLUG_TRIES = 1000
_TITLE = re.compile(r"[A-Za-z0-9-]+")
_RESERVED_ENV = ("HW_", "HEADWATER_", "CNVRG_")  # set by the runtime for every task


class EndpointStatus(StrEnum):
    DEFINED = "defined"  # recorded (a deploy task ran), nothing started yet
    DEPLOYING = "deploying"  # replicas of a version are starting
    RUNNING = "running"  # every version with traffic has a ready replica
    DEGRADED = "degraded"  # serving, but below its min replicas (one died, one is starting)
    STOPPED = "stopped"  # `hw endpoint stop`: no replicas, predict answers 503
    FAILED = "failed"  # no version could start


class VersionState(StrEnum):
    PENDING = "pending"  # created, no traffic yet
    CANARY = "canary"  # takes part of the traffic while the rollout watches it
    LIVE = "live"  # the stable version: takes the rest of the traffic
    RETIRED = "retired"  # replaced by a newer live version; a rollback may revive it
    ROLLED_BACK = "rolled_back"  # broke a rule (or a person rolled it back): never again
    FAILED = "failed"  # its replicas could not start

    @property
    def serves(self) -> bool:
        """Takes traffic, so the controller keeps its replicas."""
        return self in (VersionState.CANARY, VersionState.LIVE)


class ReplicaState(StrEnum):
    STARTING = "starting"  # its task is queued or loading the function
    READY = "ready"  # reported its address; the gateway routes to it
    STOPPING = "stopping"  # scaled down or replaced: no new requests, in-flight ones finish
    GONE = "gone"  # its task ended


ENDPOINT_MOVES: dict[EndpointStatus, frozenset[EndpointStatus]] = {
    EndpointStatus.DEFINED: frozenset(
        {EndpointStatus.DEPLOYING, EndpointStatus.STOPPED, EndpointStatus.FAILED}
    ),
    EndpointStatus.DEPLOYING: frozenset(
        {
            EndpointStatus.RUNNING,
            EndpointStatus.DEGRADED,
            EndpointStatus.STOPPED,
            EndpointStatus.FAILED,
        }
    ),
    # running -> deploying: a new version (a canary) starts beside the live one
    EndpointStatus.RUNNING: frozenset(
        {EndpointStatus.DEGRADED, EndpointStatus.DEPLOYING, EndpointStatus.STOPPED}
    ),
    EndpointStatus.DEGRADED: frozenset(
        {
            EndpointStatus.RUNNING,
            EndpointStatus.DEPLOYING,
            EndpointStatus.STOPPED,
            EndpointStatus.FAILED,
        }
    ),
    EndpointStatus.STOPPED: frozenset({EndpointStatus.DEPLOYING}),  # `hw endpoint start`
    # failed -> deploying: a new version, or a start after the cause was fixed
    EndpointStatus.FAILED: frozenset({EndpointStatus.DEPLOYING, EndpointStatus.STOPPED}),
}

VERSION_MOVES: dict[VersionState, frozenset[VersionState]] = {
    # pending -> live: an endpoint's first version takes all traffic at once
    VersionState.PENDING: frozenset(
        {VersionState.CANARY, VersionState.LIVE, VersionState.RETIRED, VersionState.FAILED}
    ),
    # canary -> retired: a newer deploy replaced it before its rollout ended
    VersionState.CANARY: frozenset(
        {
            VersionState.LIVE,
            VersionState.ROLLED_BACK,
            VersionState.RETIRED,
            VersionState.FAILED,
        }
    ),
    VersionState.LIVE: frozenset({VersionState.RETIRED, VersionState.ROLLED_BACK}),
    VersionState.RETIRED: frozenset({VersionState.LIVE}),  # a rollback restores it
    VersionState.ROLLED_BACK: frozenset(),
    VersionState.FAILED: frozenset(),
}

REPLICA_MOVES: dict[ReplicaState, frozenset[ReplicaState]] = {
    ReplicaState.STARTING: frozenset(
        {ReplicaState.READY, ReplicaState.STOPPING, ReplicaState.GONE}
    ),
    ReplicaState.READY: frozenset({ReplicaState.STOPPING, ReplicaState.GONE}),
    ReplicaState.STOPPING: frozenset({ReplicaState.GONE}),
    ReplicaState.GONE: frozenset(),
}

State = EndpointStatus | VersionState | ReplicaState
_TABLES: dict[type[StrEnum], tuple[str, Mapping[Any, frozenset[Any]]]] = {
    EndpointStatus: ("an endpoint", ENDPOINT_MOVES),
    VersionState: ("a version", VERSION_MOVES),
    ReplicaState: ("a replica", REPLICA_MOVES),
}


def can_move(current: State, target: State) -> bool:
    # the enums are strs: without this, EndpointStatus.FAILED == VersionState.FAILED
    if type(current) is not type(target):
        raise TypeError(f"{current!r} and {target!r} are states of different things")
    return target in _TABLES[type(current)][1][current]


def check_move(current: State, target: State, *, where: str) -> None:
    """Raise ``Conflict`` unless ``current -> target`` is in its table."""
    if can_move(current, target):
        return
    what, table = _TABLES[type(current)]
    allowed = ", ".join(sorted(table[current])) or "none: it has ended"
    raise Conflict(
        f"cannot move from {current.value} to {target.value}",
        where=where,
        hint=f"From {current.value} {what} may move to: {allowed}.",
    )


def check_title(title: str, *, where: str = "title") -> str:
    """Seed 002: the title is part of the REST URL, so only letters, digits and hyphens."""
    if not title:
        raise InvalidInput("an endpoint needs a title", where=where, hint="e.g. churn-model")
    if len(title) > TITLE_MAX:
        raise InvalidInput(
            f"endpoint title is {len(title)} characters long, over {TITLE_MAX}",
            where=where,
            hint="Choose a shorter title: it becomes part of the endpoint's URL.",
        )
    if not _TITLE.fullmatch(title):
        bad = "".join(sorted({c for c in title if not (c.isascii() and (c.isalnum() or c == "-"))}))
        raise InvalidInput(
            f"endpoint title {title!r} contains {bad!r}",
            where=where,
            hint="It becomes part of the endpoint's URL: use only letters, digits and hyphens, "
            "e.g. churn-model-2.",
        )
    return title


def slug_for(title: str, taken: Callable[[str], bool]) -> str:
    """The global URL slug of a (valid) title: lowercased; ``-2``, ``-3``... when taken.

    Deterministic, so the same state gives the same slug and a test can name it; the suffix
    is short because projects rarely share a title. The result stays within ``TITLE_MAX``.
    """
    base = title.lower()
    if not taken(base):
        return base
    for n in range(2, SLUG_TRIES + 2):
        suffix = f"-{n}"
        candidate = base[: TITLE_MAX - len(suffix)] + suffix
        if not taken(candidate):
            return candidate
    raise Conflict(
        f"every slug from {base!r} to {base}-{SLUG_TRIES + 1} is taken",
        where="title",
        hint="Choose another title.",
    )


def new_key() -> str:
    """An endpoint key: shown once, stored as ``key_hash``. 24 random bytes, 32 characters."""
    return KEY_PREFIX + secrets.token_urlsafe(24)


def key_hash(key: str) -> str:
    """A random 192-bit key needs no slow KDF: one sha256 per request is cheap."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_matches(key: str, stored_hash: str | None) -> bool:
    """Whether ``key`` is the one ``stored_hash`` was made from, in constant time."""
    if not stored_hash:
        return False
    return hmac.compare_digest(key_hash(key), stored_hash)


def check_replicas(
    min_replica: int, max_replica: int, *, limit: int = MAX_REPLICAS, where: str = ""
) -> tuple[int, int]:
    """``1 <= min_replica <= max_replica <= limit``, each error naming its field."""
    prefix = f"{where}." if where else ""
    if min_replica < 1:
        raise InvalidInput(
            f"min_replica is {min_replica}; an endpoint needs at least one replica",
            where=f"{prefix}min_replica",
            hint="Set min_replica to 1 or more (`hw endpoint stop` stops an endpoint).",
        )
    if max_replica < min_replica:
        raise InvalidInput(
            f"max_replica {max_replica} is below min_replica {min_replica}",
            where=f"{prefix}max_replica",
            hint="Set max_replica to at least min_replica.",
        )
    if max_replica > limit:
        raise InvalidInput(
            f"max_replica {max_replica} is over the limit of {limit}",
            where=f"{prefix}max_replica",
            hint=f"Use at most {limit} replicas per version.",
        )
    return min_replica, max_replica


def parse_config_vars(pairs: Iterable[str], *, where: str = "config_vars") -> dict[str, str]:
    """Seed 002's ``[key1=val1,...]`` into the environment of the function.

    Names follow the environment variable rules (``naming.check_env_var``); a name given twice
    or one the runtime sets itself (``HW_``, ``HEADWATER_``, ``CNVRG_``) is refused.
    """
    env: dict[str, str] = {}
    for i, pair in enumerate(pairs):
        here = f"{where}[{i}]"
        key, sep, value = pair.partition("=")
        if not sep:
            raise InvalidInput(
                f"config_vars entry {pair!r} is not KEY=VALUE",
                where=here,
                hint="Write config_vars: [KEY1=value1, KEY2=value2].",
            )
        check_env_var(key, value, where=here)
        if key.upper().startswith(_RESERVED_ENV):
            raise InvalidInput(
                f"config_vars name {key!r} starts with a prefix Headwater sets itself",
                where=here,
                hint="Names starting with HW_, HEADWATER_ or CNVRG_ are reserved; rename it.",
            )
        if key in env:
            raise InvalidInput(
                f"config_vars name {key!r} is given twice",
                where=here,
                hint="Give each name once.",
            )
        env[key] = value
    return env

"""Fold py-spy's raw stacks into a few named buckets: where one request's time goes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

# Walking a stack from its innermost frame outwards, the first frame that names one of these
# decides the bucket. Order matters only when one frame would match two buckets.
BUCKETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("auth: token lookup", ("by_token", "current_user")),
    (
        "project lookup (project + owner + membership)",
        ("ProjectRepo.get ", "ProjectRepo.caller", "project_for", "require.<locals>"),
    ),
    ("project listing query", ("list_for",)),
    ("response models (project_out, access)", ("project_out", "effective_access", "grant_out")),
    ("JSON serialisation (pydantic)", ("dump_json", "serialize_response", "to_json")),
    (
        "SQLAlchemy session/connection open+close",
        ("Database.read", "Database.connect", "Database.write", "Session.close"),
    ),
    (
        "threadpool hand-off (anyio to_thread)",
        ("run_sync_in_worker_thread", "WorkerThread.run", "Queue.put", "run_in_threadpool"),
    ),
    ("metrics middleware (prometheus)", ("Histogram.observe", "Counter.inc", ".labels ")),
    ("FastAPI dependency solving + validation", ("solve_dependencies", "request_params_to_args")),
    ("routing", ("matches", "_match", "Router.__call__")),
    (
        "uvicorn HTTP parse/write (socket send)",
        (
            "HttpToolsProtocol",
            "RequestResponseCycle.send",
            "RequestResponseCycle.receive",
            "proxy_headers",
        ),
    ),
    ("event loop itself", ("Runner.run", "_run_once", "BaseEventLoop")),
    (
        "Starlette/FastAPI middleware + plumbing",
        (
            "Middleware.__call__",
            "wrapped_app",
            "request_response",
            "get_request_handler",
            "run_asgi",
            "Response.__call__",
        ),
    ),
)


def buckets(raw: Path) -> dict[str, float]:
    """Share (percent) of samples per bucket, largest first; ``other`` for the rest."""
    counts: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        frames = stack.split(";")
        total += int(n)
        label = "other"
        for frame in reversed(frames):
            hit = next(
                (name for name, keys in BUCKETS if any(k in frame + " " for k in keys)), None
            )
            if hit is not None:
                label = hit
                break
        counts[label] += int(n)
    return {k: round(100 * v / total, 1) for k, v in counts.most_common()} if total else {}


def top_frames(raw: Path, prefix: str = "", n: int = 25) -> dict[str, object]:
    """Any process's hottest frames in py-spy's raw stacks, as percent of all samples.

    ``inclusive``: stacks a function is on (once per stack), for frames whose file path holds
    ``prefix`` (e.g. ``headwater``; empty: all); ``self``: the innermost frame of each stack.
    Line numbers are dropped, so a function counts once however many lines it was seen on.
    """
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        weight = int(count)
        total += weight
        frames = [_function(f) for f in stack.split(";")]
        own[frames[-1]] += weight
        for name in set(frames):
            if prefix in name:
                inclusive[name] += weight
    if not total:
        return {"samples": 0}

    def share(counter: Counter[str]) -> dict[str, float]:
        return {k: round(100 * v / total, 1) for k, v in counter.most_common(n)}

    return {"samples": total, "inclusive": share(inclusive), "self": share(own)}


def _function(frame: str) -> str:
    """``func (path/to/file.py:123)`` without the line: ``func (path/to/file.py)``."""
    head, sep, rest = frame.rpartition(":")
    return f"{head})" if sep and rest.rstrip(")").isdigit() else frame

"""``Experiment``: log parameters, metrics, artifacts and models from inside a task.

Only the experiment's own task writes its parameters and metrics: the server takes them with
the task's ``HEADWATER_TOKEN`` alone, and refuses a user's token (403).

``log_metric`` only appends to the outbox (``outbox.py``: memory, then a spool file past a
bound); a background thread sends batches, so a tight training loop never waits on HTTP. When
the server is away (refused connections, timeouts, 429 and 5xx answers) the sender keeps the
batch and tries again with capped, jittered backoff, forever while the script runs; each batch
keeps its id, so a retry after a lost answer is stored once. ``close()`` (also at the end of a
``with`` block and at interpreter exit) sends what is left within a deadline, and whatever it
could not send it writes to a file, names it on stderr (the task's log) and returns in a
``Delivery``.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from headwater.client.facade import Client
from headwater.client.http import transient
from headwater.client.outbox import BATCH, Backoff, Outbox
from headwater.domain.errors import HeadwaterError, InvalidInput, ServerUnreachable
from headwater.domain.model_sources import check_model_name

FLUSH_SECONDS = 0.5
CLOSE_DEADLINE = 30.0  # seconds close() keeps trying before it gives up and keeps the rest


@dataclass(frozen=True)
class Delivery:
    """What ``close()`` could not deliver: points (kept in ``spool``), parameters, and why."""

    undelivered: int = 0
    params_undelivered: int = 0
    refused: int = 0  # points the server refused for good (a 4xx: sending again won't help)
    spool: Path | None = None
    reason: str | None = None

    @property
    def complete(self) -> bool:
        return not (self.undelivered or self.params_undelivered or self.refused)


log = logging.getLogger("headwater.client")


class Experiment:
    """The experiment this process belongs to: ``HW_EXPERIMENT_ID`` inside a task, or the
    ``experiment`` argument (an id or number) with ``project``, given that task's token.

    ``spool_dir``: where points past the memory bound wait (default: the temp folder);
    ``deadline``: how long ``close()`` keeps trying to deliver."""

    def __init__(
        self,
        experiment: str | None = None,
        *,
        project: str | None = None,
        client: Client | None = None,
        spool_dir: str | os.PathLike[str] | None = None,
        deadline: float = CLOSE_DEADLINE,
    ) -> None:
        ref = experiment or os.environ.get("HW_EXPERIMENT_ID")
        if not ref:
            raise InvalidInput(
                "no experiment to log to",
                where="HW_EXPERIMENT_ID",
                hint="Run the script as a task: `hw run -- python script.py` (only an "
                "experiment's own task may log to it).",
            )
        self._client = client or Client(project=project)
        self._owns_client = client is None
        self.id = ref
        self._project = project
        self.deadline = deadline
        self._outbox = Outbox(Path(spool_dir or tempfile.gettempdir()))
        self._params: dict[str, str] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = threading.Event()  # close() began: send what is left, then stop
        self._abort = threading.Event()  # close()'s deadline passed: stop now
        self._progress = threading.Condition()
        self._error: HeadwaterError | None = None  # a refusal, raised by flush()
        self._refused = 0
        self._outage: str | None = None  # why the last send failed, while it keeps failing
        self._steps: dict[str, int] = {}
        self._delivery: Delivery | None = None
        self._skipped: set[str] = set()  # keys with a non-finite value already warned about
        self._sender = threading.Thread(target=self._send_loop, name="hw-metrics", daemon=True)
        self._sender.start()
        atexit.register(self.close)

    # -- logging (never touches the network) -------------------------------------------------

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        """Buffer one point; a NaN or infinite value (a diverged loss) is skipped with a
        warning, once per key, instead of failing the batch it would travel in."""
        value = float(value)
        if not math.isfinite(value):
            if key not in self._skipped:
                self._skipped.add(key)
                log.warning("metric %r: skipped the value %s (not a finite number)", key, value)
            return
        if step is None:
            step = self._steps.get(key, 0)
        self._steps[key] = step + 1
        self._outbox.put((key, step, value, time.time()))
        if self._outbox.ready() >= BATCH:
            self._wake.set()

    def log_metrics(self, values: Mapping[str, float], step: int | None = None) -> None:
        """The batch form: several keys at one step."""
        for key, value in values.items():
            self.log_metric(key, value, step)

    def log_param(self, key: str, value: object) -> None:
        with self._lock:
            self._params[key] = str(value)
        self._wake.set()

    def log_params(self, values: Mapping[str, object]) -> None:
        with self._lock:
            self._params.update({k: str(v) for k, v in values.items()})
        self._wake.set()

    def log_artifact(self, path: str | os.PathLike[str], name: str | None = None) -> Path:
        """Copy a file or folder into the task's output folder: it becomes an artifact when
        the task's outputs are committed."""
        source = Path(path)
        output = Path(os.environ.get("HW_OUTPUT_DIR", "output"))
        target = output / (name or source.name)
        if source.resolve() == target.resolve():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)
        return target

    def log_model(self, name: str, path: str | os.PathLike[str] | None = None) -> str:
        """Register ``path`` (a file or folder; default the whole output folder) as a new
        version of model ``name`` when the task ends well and its outputs are committed. A path
        outside the output folder is copied in first (``log_artifact``). The server does the
        registering, as the experiment's creator (who needs ``models: all``); the task's log
        says what was registered. Returns the path within the output folder ("" for all)."""
        check_model_name(name)
        output = Path(os.environ.get("HW_OUTPUT_DIR", "output")).resolve()
        target = output if path is None else Path(path).resolve()
        if target != output and not target.is_relative_to(output):
            target = self.log_artifact(target).resolve()
        inside = target.relative_to(output).as_posix()
        where = "" if inside == "." else inside
        self._client.experiments.log_values(self.id, "model", {name: where}, project=self._project)
        return where

    # -- sending (the sender thread only) ------------------------------------------------------

    def _send_params(self) -> None:
        with self._lock:
            params, self._params = self._params, {}
        if not params:
            return
        try:
            self._client.experiments.log_values(self.id, "param", params, project=self._project)
        except HeadwaterError as exc:
            if transient(exc):
                with self._lock:  # keep them, newer values first
                    self._params = {**params, **self._params}
            raise

    def _send_batch(self) -> bool:
        """Send the batch at the front; False when there is none."""
        batch = self._outbox.take()
        if batch is None:
            return False
        try:
            self._client.experiments.log_metrics(
                self.id, batch.points, project=self._project, batch=batch.id
            )
        except HeadwaterError as exc:
            if transient(exc):
                raise  # the same batch, same id, goes again
            self._refused += len(batch.points)
            self._outbox.done()
            raise
        except (TypeError, ValueError) as exc:  # a point that cannot travel (say, an inf)
            self._refused += len(batch.points)
            self._outbox.done()
            raise InvalidInput(
                f"metric points could not be sent: {exc}",
                where="log_metric",
                hint="Log finite numbers.",
            ) from exc
        self._outbox.done()
        return True

    def _send_loop(self) -> None:
        backoff = Backoff()
        while not self._abort.is_set():
            try:
                self._send_params()
                sent = self._send_batch()
            except HeadwaterError as exc:
                if transient(exc):
                    self._outage = exc.detail
                    self._abort.wait(backoff.next())
                else:
                    self._error = exc  # refused for good: flush() raises it
                self._notify()
                continue
            backoff.reset()
            self._outage = None
            self._notify()
            if sent:
                continue
            if self._closing.is_set():
                return
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()

    def _notify(self) -> None:
        with self._progress:
            self._progress.notify_all()

    def _pending(self) -> tuple[int, int]:
        with self._lock:
            params = len(self._params)
        return self._outbox.pending(), params

    # -- the end -------------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> None:
        """Wait until everything logged so far is stored (at most ``timeout``, default the
        close deadline); raise what the server refused, or ``ServerUnreachable``."""
        self._wake.set()
        limit = time.monotonic() + (self.deadline if timeout is None else timeout)
        with self._progress:
            while any(self._pending()) and self._error is None and self._sender.is_alive():
                left = limit - time.monotonic()
                if left <= 0:
                    points, params = self._pending()
                    raise ServerUnreachable(
                        f"{points} metric points and {params} parameters not delivered yet "
                        f"({self._outage or 'the server is slow'})",
                        where=self._client.http.url,
                        hint="They are kept and sent when the server answers again.",
                    )
                self._wake.set()
                self._progress.wait(min(left, FLUSH_SECONDS))
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        if any(self._pending()):  # the sender has stopped (a bug): say so, never return quietly
            raise HeadwaterError(
                "the SDK's metric sender has stopped; points logged are not being delivered",
                where="Experiment",
                hint="close() keeps them in a file and names it; please report this.",
            )

    def close(self) -> Delivery:
        """Send what is left within ``deadline`` seconds; what could not be sent is written to
        a file (inside a task: its output folder, so it is kept as an artifact) and named on
        stderr. Returns what was not delivered (``Delivery.complete`` when all was)."""
        if self._delivery is not None:
            return self._delivery
        self._closing.set()
        self._wake.set()
        self._sender.join(timeout=self.deadline)
        self._abort.set()
        self._sender.join(timeout=1.0)
        points, params = self._pending()
        spool = None
        if points:
            folder = Path(os.environ.get("HW_OUTPUT_DIR") or tempfile.gettempdir())
            spool = folder / self._outbox.spool_path.name.replace("-metrics-", "-undelivered-")
            self._outbox.drain_to(spool)
        self._outbox.close()
        reason = self._outage or (self._error.detail if self._error else None)
        self._delivery = Delivery(
            undelivered=points,
            params_undelivered=params,
            refused=self._refused,
            spool=spool,
            reason=reason,
        )
        self._say(self._delivery)
        atexit.unregister(self.close)
        if self._owns_client:
            self._client.close()
        return self._delivery

    def _say(self, delivery: Delivery) -> None:
        """One line on stderr per loss: a task's stderr is its log."""
        why = f" ({delivery.reason})" if delivery.reason else ""
        if delivery.undelivered:
            sys.stderr.write(
                f"headwater: {delivery.undelivered} metric points could not be delivered after "
                f"{self.deadline:g} s{why}; spooled at {delivery.spool}\n"
            )
        if delivery.params_undelivered:
            sys.stderr.write(
                f"headwater: {delivery.params_undelivered} parameters could not be delivered "
                f"after {self.deadline:g} s{why}\n"
            )
        if delivery.refused:
            sys.stderr.write(
                f"headwater: {delivery.refused} metric points were refused by the server{why}\n"
            )
        sys.stderr.flush()

    def __enter__(self) -> Experiment:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Experiment({self.id!r})"

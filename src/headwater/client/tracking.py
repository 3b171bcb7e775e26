"""``Experiment``: log parameters, metrics and artifacts from inside a task (or any script).

``log_metric`` only appends to an in-memory buffer; a background thread sends batches, so a
tight training loop never waits on HTTP. Whatever is buffered is sent at ``close()``, at the
end of a ``with`` block, and at interpreter exit.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import shutil
import threading
import time
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from headwater.client.facade import Client
from headwater.domain.errors import HeadwaterError, InvalidInput

BATCH = 5000  # points per request: big enough to amortise HTTP, small enough to stream
FLUSH_SECONDS = 0.5
MAX_BUFFERED = 2_000_000  # past this, log_metric waits for the sender (memory stays bounded)

Point = tuple[str, int | None, float, float]
log = logging.getLogger("headwater.client")


class Experiment:
    """The experiment this process belongs to: ``HW_EXPERIMENT_ID`` inside a task, or the
    ``experiment`` argument (an id or number) with ``project`` anywhere else."""

    def __init__(
        self,
        experiment: str | None = None,
        *,
        project: str | None = None,
        client: Client | None = None,
    ) -> None:
        ref = experiment or os.environ.get("HW_EXPERIMENT_ID")
        if not ref:
            raise InvalidInput(
                "no experiment to log to",
                where="HW_EXPERIMENT_ID",
                hint="Run the script with `hw run -- python script.py`, or pass "
                "Experiment('ID or number', project='PROJECT_ID').",
            )
        self._client = client or Client(project=project)
        self._owns_client = client is None
        self.id = ref
        self._project = project
        self._points: deque[Point] = deque()
        self._params: dict[str, str] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._error: HeadwaterError | None = None
        self._steps: dict[str, int] = {}
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
        self._points.append((key, step, value, time.time()))
        if len(self._points) >= BATCH:
            self._wake.set()
            if len(self._points) > MAX_BUFFERED:
                while len(self._points) > MAX_BUFFERED // 2 and self._sender.is_alive():
                    time.sleep(0.01)

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

    # -- sending ---------------------------------------------------------------------------

    def _take(self) -> list[Point]:
        batch: list[Point] = []
        points = self._points
        while points and len(batch) < BATCH:
            batch.append(points.popleft())
        return batch

    def _send_pending(self) -> None:
        experiments = self._client.experiments
        with self._lock:
            params, self._params = self._params, {}
        if params:
            experiments.log_values(self.id, "param", params, project=self._project)
        while self._points:
            experiments.log_metrics(self.id, self._take(), project=self._project)

    def _send_loop(self) -> None:
        while not self._closed.is_set():
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            try:
                self._send_pending()
            except HeadwaterError as exc:  # kept, raised by flush()/close()
                self._error = exc
                time.sleep(1.0)

    def flush(self) -> None:
        """Send everything logged so far, now."""
        self._send_pending()
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        self._wake.set()
        self._sender.join(timeout=30)
        try:
            self._send_pending()
        finally:
            atexit.unregister(self.close)
            if self._owns_client:
                self._client.close()

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

"""Live jobs (``.headwater/live.yaml``) on top of experiments: each run of job ``train`` is an
experiment titled ``live:train``, so starting, listing, logs and stopping are the experiments
API's, found by that exact title.

    spec = load_live_file()                       # found from the working directory upwards
    live = LiveClient(client.experiments)
    live.run(spec.job("train"))                   # Conflict while it is still going
    for row in live.ps(spec): print(row.job, row.status)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from headwater.client.experiments import ExperimentsClient
from headwater.domain.errors import Conflict, InvalidInput
from headwater.domain.live import (
    LIVE_DIR,
    LIVE_FILE,
    LiveJob,
    LiveSpec,
    LiveStatus,
    job_title,
    live_status,
    parse_live,
)
from headwater.schemas.experiments import ExperimentOut


def find_live_file(start: Path | None = None) -> Path | None:
    """The nearest ``.headwater/live.yaml`` from ``start`` (default: here) upwards."""
    try:
        here = (start or Path.cwd()).resolve()
    except OSError:  # the working directory was removed under us
        return None
    for folder in (here, *here.parents):
        candidate = folder / LIVE_DIR / LIVE_FILE
        if candidate.is_file():
            return candidate
    return None


def load_live_file(path: Path | None = None, *, start: Path | None = None) -> LiveSpec:
    """The parsed spec at ``path``, or the one found from ``start`` upwards."""
    found = path or find_live_file(start)
    if found is None:
        raise InvalidInput(
            f"no {LIVE_DIR}/{LIVE_FILE} here or in any folder above",
            where=str((start or Path.cwd()).resolve()),
            hint=f"Run the command inside a project folder, or create {LIVE_DIR}/{LIVE_FILE} "
            "with jobs: {train: {cmd: python train.py}}.",
        )
    try:
        text = found.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            f"cannot read {found}: {exc}",
            where=str(found),
            hint="Check that the file exists, is readable and is UTF-8 text.",
        ) from exc
    return parse_live(text, source=str(found))


@dataclass(frozen=True)
class LiveRow:
    """One line of ``hw live ps``: a defined job and its latest run, if any."""

    job: str
    status: LiveStatus
    id: str | None  # the experiment's id ("raw ID")
    number: int | None
    when: datetime | None  # started, ended or queued, whichever is latest
    http_port: int | None


class LiveClient:
    """Run, list and stop live jobs; a job's latest run is its newest ``live:<job>``."""

    def __init__(self, experiments: ExperimentsClient) -> None:
        self.experiments = experiments

    def latest(self, job: str, *, project: str | None = None) -> ExperimentOut | None:
        page = self.experiments.list(title=job_title(job), limit=1, project=project)
        return page.items[0] if page.items else None

    def run(
        self,
        job: LiveJob,
        *,
        force: bool = False,
        commit: str | None = None,
        project: str | None = None,
    ) -> ExperimentOut:
        """Start ``job``; a job whose latest run is still going is refused unless ``force``."""
        if not force:
            current = self.latest(job.name, project=project)
            if current is not None and live_status(current.state).active:
                raise Conflict(
                    f"live job {job.name!r} is already {live_status(current.state).value} as "
                    f"experiment {current.number} ({current.id})",
                    where=f"jobs.{job.name}",
                    hint=f"Stop it with `hw live kill {job.name}`, or start another run "
                    "beside it with `hw live run --force`.",
                )
        made = self.experiments.create(
            job.shell_command(),
            title=job.title,
            computes=job.computes,
            commit=commit,
            project=project,
        )
        return made[0]

    def ps(self, spec: LiveSpec, *, project: str | None = None) -> list[LiveRow]:
        """Every defined job, in file order, with its latest run (one small query each)."""
        rows: list[LiveRow] = []
        for job in spec.jobs.values():
            e = self.latest(job.name, project=project)
            rows.append(
                LiveRow(
                    job=job.name,
                    status=live_status(e.state if e else None),
                    id=e.id if e else None,
                    number=e.number if e else None,
                    when=(e.ended_at or e.started_at or e.created_at) if e else None,
                    http_port=job.http_port,
                )
            )
        return rows

    def kill(self, job: str, *, project: str | None = None) -> ExperimentOut | None:
        """The job's latest run, stopped first if it was still going; ``None``: it never ran."""
        current = self.latest(job, project=project)
        if current is None or not live_status(current.state).active:
            return current
        return self.experiments.stop(current.id, project=project)

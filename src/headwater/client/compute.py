"""Compute templates and the monitoring view."""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.client.http import HttpClient, payload, segment
from headwater.domain.errors import NotFound
from headwater.schemas.experiments import ComputeTemplateIn, ComputeTemplateOut, MonitorOut

if TYPE_CHECKING:
    from headwater.schemas.monitoring import MonitorJobsOut

TemplateList = list[ComputeTemplateOut]


class ComputeClient:
    def __init__(self, http: HttpClient) -> None:
        self._http = http

    def list(self) -> TemplateList:
        return self._http.call("GET", "/compute", TemplateList)

    def create(
        self,
        name: str,
        *,
        cpus: float,
        memory_mb: int,
        gpus: int = 0,
        custom_resources: dict[str, float] | None = None,
        owned: bool = False,
    ) -> ComputeTemplateOut:
        body = payload(
            ComputeTemplateIn,
            name=name,
            cpus=cpus,
            memory_mb=memory_mb,
            gpus=gpus,
            custom_resources=custom_resources or {},
            owned=owned,
        )
        return self._http.call("POST", "/compute", ComputeTemplateOut, json=body)

    def get(self, name: str) -> ComputeTemplateOut:
        """One template you may use, by name (from the list: there is no route of its own)."""
        for template in self.list():
            if template.name == name:
                return template
        raise NotFound(
            f"no compute template {name!r} that you may use",
            where="name",
            hint="See `hw compute list`.",
        )

    def delete(self, name: str) -> None:
        self._http.request("DELETE", f"/compute/{segment(name)}")

    def monitor(self) -> MonitorOut:
        """Active and pending jobs, compute and storage assigned and total (seed 004)."""
        return self._http.call("GET", "/monitor", MonitorOut)

    def jobs(self, *, limit: int = 100) -> MonitorJobsOut:
        """Unfinished jobs (who, what, since when, compute) and usage per compute template."""
        from headwater.schemas.monitoring import MonitorJobsOut  # only `hw status --jobs`

        return self._http.call("GET", "/monitor/jobs", MonitorJobsOut, params={"limit": limit})

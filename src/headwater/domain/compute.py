"""Compute templates and resource accounting: what a task needs, and whether it fits now."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from headwater.domain.errors import InvalidInput

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")


@dataclass(frozen=True)
class Resources:
    cpus: float
    memory_mb: int
    gpus: int

    def __add__(self, other: Resources) -> Resources:
        return Resources(
            self.cpus + other.cpus, self.memory_mb + other.memory_mb, self.gpus + other.gpus
        )

    def __sub__(self, other: Resources) -> Resources:
        return Resources(
            self.cpus - other.cpus, self.memory_mb - other.memory_mb, self.gpus - other.gpus
        )

    def fits_in(self, other: Resources) -> bool:
        # a hair of tolerance: 0.1 + 0.2 cores must fit in 0.3
        return (
            self.cpus <= other.cpus + 1e-9
            and self.memory_mb <= other.memory_mb
            and self.gpus <= other.gpus
        )

    def __str__(self) -> str:
        return f"{self.cpus:g} CPU, {self.memory_mb} MiB, {self.gpus} GPU"


ZERO = Resources(0.0, 0, 0)


@dataclass(frozen=True)
class ComputeTemplate:
    name: str
    resources: Resources
    owner_id: str | None = None  # None: shared with everyone on the server


def check_template(name: str, cpus: float, memory_mb: int, gpus: int) -> ComputeTemplate:
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            f"{name!r} is not a usable compute template name",
            where="name",
            hint="Use lowercase letters, digits, '.', '_' or '-', starting with a letter or "
            "digit, at most 63 characters (e.g. gpu-large).",
        )
    for field, value, low in (("cpus", cpus, 0), ("memory_mb", memory_mb, 0)):
        if not value > low:
            raise InvalidInput(
                f"{field} must be more than {low}", where=field, hint="e.g. cpus 2, memory_mb 4096"
            )
    if gpus < 0:
        raise InvalidInput("gpus cannot be negative", where="gpus", hint="Use 0 for none.")
    return ComputeTemplate(name, Resources(float(cpus), int(memory_mb), int(gpus)))


def fits_ever(template: ComputeTemplate, total: Resources) -> bool:
    return template.resources.fits_in(total)


def choose_compute(
    requested: Sequence[str],
    templates: Mapping[str, ComputeTemplate],
    free: Resources,
    *,
    only_owned_by: str | None = None,
) -> ComputeTemplate | None:
    """The first requested template that fits in ``free`` now; None: wait in the queue."""
    for name in requested:
        template = templates.get(name)
        if template is None:
            known = ", ".join(sorted(templates)) or "none"
            raise InvalidInput(
                f"no compute template named {name!r}",
                where="computes",
                hint=f"Use one of: {known} (see `hw compute list`).",
            )
        if only_owned_by is not None and template.owner_id != only_owned_by:
            continue
        if template.resources.fits_in(free):
            return template
    if only_owned_by is not None and not any(
        templates[n].owner_id == only_owned_by for n in requested
    ):
        raise InvalidInput(
            "the project uses only owned compute, and none of the requested templates is "
            "the experiment creator's",
            where="computes",
            hint="Create one with `hw compute create NAME --owned`, or turn off "
            "use_only_owned_compute in the project settings.",
        )
    return None

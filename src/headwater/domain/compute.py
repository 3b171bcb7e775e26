"""Compute templates and resource accounting: what a task needs, and whether it fits now."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from headwater.domain.errors import InvalidInput

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")


@dataclass(frozen=True)
class Resources:
    """CPU cores (fractions allowed), memory in MiB and whole GPUs; negative only while
    accounting (free minus what is asked)."""

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
        """Whether this much can run inside ``other`` (each of cpus, memory, gpus fits)."""
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
    """A named amount of resources a task asks for (seed 002: a task tries its list in order)."""

    name: str
    resources: Resources
    owner_id: str | None = None  # None: shared with everyone on the server


def check_template(name: str, cpus: float, memory_mb: int, gpus: int) -> ComputeTemplate:
    """A template as a user defines it: a slug name and a positive amount of CPU and memory."""
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            f"{name!r} is not a usable compute template name",
            where="name",
            hint="Use lowercase letters, digits, '.', '_' or '-', starting with a letter or "
            "digit, at most 63 characters (e.g. gpu-large).",
        )
    if not (math.isfinite(cpus) and cpus > 0):
        raise InvalidInput(
            f"cpus must be a number above 0, not {cpus!r}",
            where="cpus",
            hint="Give whole or fractional cores, e.g. --cpus 2 or --cpus 0.5.",
        )
    if isinstance(memory_mb, bool) or not isinstance(memory_mb, int) or memory_mb <= 0:
        raise InvalidInput(
            f"memory_mb must be a whole number above 0, not {memory_mb!r}",
            where="memory_mb",
            hint="Give mebibytes, e.g. --memory 4096 for 4 GiB.",
        )
    if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 0:
        raise InvalidInput(
            f"gpus must be a whole number, 0 or more, not {gpus!r}",
            where="gpus",
            hint="Use 0 for a template without GPUs.",
        )
    return ComputeTemplate(name, Resources(float(cpus), memory_mb, gpus))


def fits_ever(template: ComputeTemplate, total: Resources) -> bool:
    """Whether the template fits the whole machine or cluster, once everything else is done."""
    return template.resources.fits_in(total)


def choose_compute(
    requested: Sequence[str],
    templates: Mapping[str, ComputeTemplate],
    free: Resources,
    *,
    only_owned_by: str | None = None,
) -> ComputeTemplate | None:
    """The first requested template that fits in ``free`` now; None: wait in the queue.

    Every name is checked first, so a typo fails at once rather than only on a busy day.
    """
    if not requested:
        raise InvalidInput(
            "no compute template requested",
            where="computes",
            hint=f"Name at least one: {_known(templates)}.",
        )
    for name in requested:
        if name not in templates:
            raise InvalidInput(
                f"no compute template named {name!r}",
                where="computes",
                hint=f"Use one of: {_known(templates)} (see `hw compute list`).",
            )
    usable = [
        templates[n]
        for n in requested
        if only_owned_by is None or templates[n].owner_id == only_owned_by
    ]
    if not usable:  # would wait forever: say why instead
        raise InvalidInput(
            "the project uses only owned compute, and none of the requested templates is "
            "the experiment creator's",
            where="computes",
            hint="Create one with `hw compute create NAME --owned`, or turn off "
            "use_only_owned_compute in the project settings.",
        )
    return next((t for t in usable if t.resources.fits_in(free)), None)


def _known(templates: Mapping[str, ComputeTemplate]) -> str:
    return ", ".join(sorted(templates)) or "none defined yet"

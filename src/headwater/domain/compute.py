"""Compute templates and resource accounting: what a task needs, and whether it fits now."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from headwater.domain.errors import InvalidInput

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")

# Custom resources (Ray's word): anything a node advertises beyond CPUs, memory and GPUs,
# e.g. ``accelerator_type:A100`` (Ray sets it on a node with that GPU) or ``{"ssd": 1}``
# (a node started with ``ray start --resources``). A name as Ray accepts it, bounded.
_RESOURCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}")
MAX_CUSTOM = 16  # custom resources one template names
MAX_AMOUNT = 1_000_000.0
# Named by the template's own fields (or Ray's internals): never a custom resource.
RESERVED = frozenset({"CPU", "GPU", "memory", "object_store_memory"})
_TOLERANCE = 1e-9  # 0.1 + 0.2 cores must fit in 0.3


def _merge(a: Mapping[str, float], b: Mapping[str, float], sign: float) -> dict[str, float]:
    merged = dict(a)
    for name, amount in b.items():
        merged[name] = merged.get(name, 0.0) + sign * amount
    return {name: amount for name, amount in merged.items() if abs(amount) > _TOLERANCE}


@dataclass(frozen=True)
class Resources:
    """CPU cores (fractions allowed), memory in MiB, whole GPUs and custom resources by name;
    negative only while accounting (free minus what is asked)."""

    cpus: float
    memory_mb: int
    gpus: int
    custom: Mapping[str, float] = field(default_factory=dict, hash=False)

    def __add__(self, other: Resources) -> Resources:
        return Resources(
            self.cpus + other.cpus,
            self.memory_mb + other.memory_mb,
            self.gpus + other.gpus,
            _merge(self.custom, other.custom, 1.0),
        )

    def __sub__(self, other: Resources) -> Resources:
        return Resources(
            self.cpus - other.cpus,
            self.memory_mb - other.memory_mb,
            self.gpus - other.gpus,
            _merge(self.custom, other.custom, -1.0),
        )

    def fits_in(self, other: Resources) -> bool:
        """Whether this much can run inside ``other`` (cpus, memory, gpus and each custom
        resource fit)."""
        return not self.short_of(other)

    def short_of(self, other: Resources) -> list[str]:
        """What of this does not fit in ``other``, in words (empty: it fits)."""
        short = []
        if self.cpus > other.cpus + _TOLERANCE:
            short.append(f"{self.cpus:g} CPU (there are {other.cpus:g})")
        if self.memory_mb > other.memory_mb:
            short.append(f"{self.memory_mb} MiB (there are {other.memory_mb})")
        if self.gpus > other.gpus:
            short.append(f"{self.gpus} GPU (there are {other.gpus})")
        for name, amount in sorted(self.custom.items()):
            there = other.custom.get(name, 0.0)
            if amount > there + _TOLERANCE:
                short.append(f"{amount:g} {name} (there are {max(there, 0.0):g})")
        return short

    def __str__(self) -> str:
        text = f"{self.cpus:g} CPU, {self.memory_mb} MiB, {self.gpus} GPU"
        extra = [f"{amount:g} {name}" for name, amount in sorted(self.custom.items()) if amount]
        return ", ".join([text, *extra])


ZERO = Resources(0.0, 0, 0)


@dataclass(frozen=True)
class ComputeTemplate:
    """A named amount of resources a task asks for (seed 002: a task tries its list in order)."""

    name: str
    resources: Resources
    owner_id: str | None = None  # None: shared with everyone on the server


def check_custom(custom: Mapping[str, object]) -> dict[str, float]:
    """Custom resources as a template names them: at most MAX_CUSTOM names as Ray spells
    them (not CPU, GPU, memory), each a positive amount: a fraction up to 1, or a whole number
    above (Ray's rule), at most MAX_AMOUNT."""
    if len(custom) > MAX_CUSTOM:
        raise InvalidInput(
            f"a compute template names at most {MAX_CUSTOM} custom resources, not {len(custom)}",
            where="custom_resources",
            hint="Keep the resources that place the task; CPUs, memory and GPUs have fields.",
        )
    checked: dict[str, float] = {}
    for name, amount in custom.items():
        where = f"custom_resources.{str(name)[:64]}"
        if not isinstance(name, str) or not _RESOURCE.fullmatch(name):
            raise InvalidInput(
                f"{str(name)[:80]!r} is not a usable resource name",
                where="custom_resources",
                hint="Use letters, digits, '.', '_', ':', '/' or '-', starting with a letter or "
                "digit, at most 64 characters, as the nodes advertise it (e.g. "
                "accelerator_type:A100).",
            )
        if name in RESERVED:
            raise InvalidInput(
                f"{name!r} is not a custom resource",
                where=where,
                hint="Ask for CPUs, memory and GPUs with cpus, memory_mb and gpus.",
            )
        if (
            isinstance(amount, bool)
            or not isinstance(amount, int | float)
            or not math.isfinite(amount)
            or not 0 < amount <= MAX_AMOUNT
        ):
            raise InvalidInput(
                f"resource {name!r} needs an amount above 0 and at most {MAX_AMOUNT:g}, "
                f"not {amount!r}",
                where=where,
                hint="Give how many the task needs, e.g. accelerator_type:A100=1 or ssd=0.5.",
            )
        if amount > 1 and amount != int(amount):
            raise InvalidInput(
                f"resource {name!r}: an amount above 1 must be a whole number, not {amount!r}",
                where=where,
                hint="Ray shares a resource in fractions of one unit only: use e.g. 0.5 or 2.",
            )
        checked[name] = float(amount)
    return checked


def check_template(
    name: str,
    cpus: float,
    memory_mb: int,
    gpus: int,
    custom: Mapping[str, object] | None = None,
) -> ComputeTemplate:
    """A template as a user defines it: a slug name, a positive amount of CPU and memory, and
    any custom resources (``check_custom``)."""
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
    return ComputeTemplate(
        name, Resources(float(cpus), memory_mb, gpus, check_custom(custom or {}))
    )


def fits_ever(template: ComputeTemplate, total: Resources) -> bool:
    """Whether the template fits the whole machine or cluster, once everything else is done."""
    return template.resources.fits_in(total)


def never_fits(
    requested: Sequence[str], templates: Mapping[str, ComputeTemplate], total: Resources
) -> str:
    """Why none of ``requested`` can ever run on ``total``: what each one lacks."""
    parts = [
        f"{name} needs {', '.join(templates[name].resources.short_of(total))}"
        for name in requested
        if name in templates
    ]
    return f"no compute in {', '.join(requested)} fits ({total}): " + "; ".join(parts)


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

"""Which parent instances go on to a task (seed 002, Conditions).

gt, lt and eq keep every instance whose tag compares well with ``target``; min and max keep
the one instance with the lowest or highest tag. Threshold tests run first and min/max choose
among what is left, whatever order the file lists them in: "the best of those under the loss
limit" is what people mean. An instance without the tag, or with a value that is not a
number, does not pass. Ties in min/max go to the earlier instance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from headwater.domain.flowspec.instances import Finished
from headwater.domain.flowspec.model import Condition, Objective


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _holds(condition: Condition, instance: Finished) -> bool:
    value = _number(instance.value(condition.tag_key or ""))
    target = condition.target
    if value is None or target is None:
        return False
    if condition.objective is Objective.GT:
        return value > target
    if condition.objective is Objective.LT:
        return value < target
    return value == target  # as numbers: "0.90" equals 0.9


def passing(conditions: Sequence[Condition], instances: Sequence[Finished]) -> list[Finished]:
    """The instances that pass every one of ``conditions`` (those on their task)."""
    keep = list(instances)
    for condition in conditions:
        if condition.objective.compares:
            keep = [i for i in keep if _holds(condition, i)]
    for condition in conditions:
        if not condition.objective.picks:
            continue
        scored = [
            (v, n)
            for n, i in enumerate(keep)
            if (v := _number(i.value(condition.tag_key or ""))) is not None
        ]
        if not scored:
            return []
        sign = 1 if condition.objective is Objective.MIN else -1
        _, best = min(scored, key=lambda pair: (sign * pair[0], pair[1]))
        keep = [keep[best]]
    return keep

"""Headwater: a self-hosted MLOps platform."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # ``headwater.Experiment`` without importing the SDK for every ``import headwater.*``.
    if name == "Experiment":
        from headwater.client.tracking import Experiment

        return Experiment
    raise AttributeError(f"module 'headwater' has no attribute {name!r}")

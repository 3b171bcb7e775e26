"""Models every resource shares."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Schema(BaseModel):
    """Base of every schema: its validator is built the first time it is used, not on import.

    A command of ``hw`` that imports a schema module for one or two of its models does not
    pay for building the others, nor for any before its first request; the server builds
    them as FastAPI registers its routes. Validation is otherwise Pydantic's default.
    """

    model_config = ConfigDict(defer_build=True)


class Model(Schema):
    """Base of request models: unknown fields are refused, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid")


class ErrorOut(Schema):
    error: str
    detail: str
    where: str | None = None
    hint: str | None = None


class Page(Schema, Generic[T]):
    """One page of a listing: ``items`` plus the ``total`` that matched."""

    items: list[T]
    total: int
    offset: int
    limit: int

"""Models every resource shares."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Model(BaseModel):
    """Base of request models: unknown fields are refused, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid")


class ErrorOut(BaseModel):
    error: str
    detail: str
    where: str | None = None
    hint: str | None = None


class Page(BaseModel, Generic[T]):
    """One page of a listing: ``items`` plus the ``total`` that matched."""

    items: list[T]
    total: int
    offset: int
    limit: int

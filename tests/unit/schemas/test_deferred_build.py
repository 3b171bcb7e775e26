"""Every schema builds its validator on first use, not on import (issue 18: ``hw`` start-up)."""

from __future__ import annotations

import importlib
import pkgutil

from pydantic import BaseModel

import headwater.schemas
from headwater.schemas.common import Page, Schema
from headwater.schemas.projects import ProjectOut


def schema_models() -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    for info in pkgutil.iter_modules(headwater.schemas.__path__):
        module = importlib.import_module(f"headwater.schemas.{info.name}")
        found += [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, BaseModel)
            and value.__module__ == module.__name__
        ]
    return found


def test_every_schema_derives_from_schema_and_defers_its_build() -> None:
    models = schema_models()
    assert len(models) > 50
    for model in models:
        assert issubclass(model, Schema), f"{model.__qualname__}: derive it from Schema or Model"
        assert model.model_config.get("defer_build") is True, model.__qualname__


def test_a_deferred_schema_validates_as_before() -> None:
    page = Page[ProjectOut].model_validate({"items": [], "total": 0, "offset": 0, "limit": 10})
    assert page.model_dump() == {"items": [], "total": 0, "offset": 0, "limit": 10}

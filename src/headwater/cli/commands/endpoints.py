"""``hw endpoints``: the endpoints the project's deploy tasks defined (seed 002, Deploy tasks)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from headwater.cli.context import ProjectOption, connect
from headwater.cli.output import JsonOption, emit, paged, table

if TYPE_CHECKING:
    from rich.console import RenderableType

    from headwater.schemas.common import Page
    from headwater.schemas.endpoints import EndpointOut


def endpoints(
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """The project's endpoints by title, with the bake that last defined each."""
    with connect(project) as client:
        page = client.flows.endpoints(offset=offset, limit=limit, project=project)
    emit(page, as_json, _view)


def _view(page: Page[EndpointOut]) -> RenderableType:
    from rich.text import Text

    if not page.items:
        return Text("No endpoints yet: a flow's deploy task defines one.")
    rows = [(e.title, e.status, _function(e), e.flow_run or "", e.updated_at) for e in page.items]
    return paged(page, table(["TITLE", "STATUS", "PREDICT", "BAKE", "UPDATED"], rows))


def _function(e: EndpointOut) -> str:
    """``file.py:function``, the deploy task's ``file_name`` and ``function_name``."""
    file, function = e.definition.get("file_name"), e.definition.get("function_name")
    return f"{file}:{function}" if file and function else str(file or function or "")

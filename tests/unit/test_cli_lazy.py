"""The root group's own options are parsed without Pydantic, and mean what Typer made them mean."""

from __future__ import annotations

from typing import Annotated, ClassVar

import typer
from typer.core import TyperOption
from typer.testing import CliRunner

from headwater.cli.lazy import LazyGroup, PlainOption

seen: dict[str, object] = {}


def show() -> None:
    """Print what the root's callback was given."""
    typer.echo(f"project={seen['project']!r} debug={seen['debug']!r} retries={seen['retries']!r}")


class Root(LazyGroup):
    entries: ClassVar[dict[str, str]] = {"show": f"{__name__}:show"}


app = typer.Typer(cls=Root, add_completion=False)


@app.callback()
def root(
    project: Annotated[str | None, typer.Option("--project", "-p")] = None,
    debug: Annotated[bool, typer.Option("--debug", envvar="HW_TEST_DEBUG")] = False,
    retries: Annotated[int, typer.Option(min=0)] = 1,
) -> None:
    seen.update(project=project, debug=debug, retries=retries)


def params() -> dict[str, object]:
    command = typer.main.get_command(app)
    return {p.name or "": p for p in command.params}


def test_text_options_and_flags_of_the_root_skip_typers_adapters_others_keep_them() -> None:
    found = params()
    assert type(found["project"]) is PlainOption
    assert type(found["debug"]) is PlainOption
    assert type(found["retries"]) is TyperOption  # a number is still checked by Typer


def test_the_values_are_those_typer_would_give() -> None:
    runner = CliRunner()
    done = runner.invoke(app, ["--project", "p-1", "show"])
    assert done.exit_code == 0, done.output
    assert done.output.strip() == "project='p-1' debug=False retries=1"
    done = runner.invoke(app, ["-p", "", "--debug", "--retries", "3", "show"])
    assert done.output.strip() == "project='' debug=True retries=3"
    done = runner.invoke(app, ["show"], env={"HW_TEST_DEBUG": "yes"})  # a string: Typer's rule
    assert done.output.strip() == "project=None debug=True retries=1"
    done = runner.invoke(app, ["--retries", "-1", "show"])
    assert done.exit_code == 2  # usage errors are still Typer's


def test_help_still_works_through_the_plain_help_option() -> None:
    runner = CliRunner()
    done = runner.invoke(app, ["show", "--help"])
    assert done.exit_code == 0
    assert "Print what the root's callback was given." in done.output
    done = runner.invoke(app, ["--help"])
    assert done.exit_code == 0
    assert "show" in done.output

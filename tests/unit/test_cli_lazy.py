"""Parameters are coerced without Pydantic where Typer's adapter would change nothing, and mean
exactly what Typer made them mean: the same values, the same errors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar

import pytest
import typer
from typer import _click
from typer._coercion import build_runtime_param
from typer.core import TyperCommand, _TyperParameter
from typer.testing import CliRunner

from headwater.cli.lazy import LazyGroup, PlainCoercion
from headwater.cli.main import app as hw

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


def params() -> dict[str, _TyperParameter]:
    command = typer.main.get_command(app)
    return {p.name or "": p for p in command.params if isinstance(p, _TyperParameter)}


def test_the_roots_options_are_coerced_plainly_until_a_value_needs_typers_adapter() -> None:
    found = params()
    assert all(type(p._runtime_param) is PlainCoercion for p in found.values())
    ctx = _click.Context(TyperCommand("x"))
    assert found["project"].process_value(ctx, "p-1") == "p-1"
    assert type(found["project"]._runtime_param) is PlainCoercion
    assert found["retries"].process_value(ctx, "3") == 3  # inside its bounds
    assert type(found["retries"]._runtime_param) is PlainCoercion
    # out of bounds: Typer's adapter takes over (and stays), and its error is Typer's
    with pytest.raises(_click.exceptions.BadParameter, match="greater than or equal to 0"):
        found["retries"].process_value(ctx, "-1")
    assert type(found["retries"]._runtime_param) is not PlainCoercion


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


# What each kind of parameter is tried with: plain values, and ones only Typer's adapter reads
SAMPLES: dict[Any, list[Any]] = {
    str: ["x", "", " a b ", "007"],
    bool: [True, False, "yes", "0", ""],
    int: ["5", "007", "-3", "+4", "0", " 5", "1_000", "x", "\u0663", "5.0", 7],
    float: ["1.5", "2", "x"],
    Path: ["a//b", ".", "", "/tmp", "~/x", "does/not/exist"],
    list[str]: [("a", "b"), (), ["c"]],
}


def hw_parameters() -> list[tuple[str, _TyperParameter]]:
    """Every parameter of every ``hw`` command, built as ``hw`` builds them."""
    found: list[tuple[str, _TyperParameter]] = []

    def walk(command: _click.Command, path: str) -> None:
        found.extend(
            (f"{path} {p.name}", p) for p in command.params if isinstance(p, _TyperParameter)
        )
        subcommands = getattr(command, "commands", {})
        for name in list(subcommands):
            walk(subcommands[name], f"{path} {name}")

    walk(typer.main.get_command(hw), "hw")
    return found


def outcome(coerce: Any, value: Any, param: _TyperParameter, ctx: _click.Context) -> Any:
    try:
        return (
            "value",
            type(coerce(value, param=param, ctx=ctx)),
            coerce(value, param=param, ctx=ctx),
        )
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))


def test_every_hw_parameter_gets_what_typers_adapter_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    checked = 0
    for where, param in hw_parameters():
        plain = param._runtime_param
        assert type(plain) is PlainCoercion, where
        described = param.type_descriptor
        ctx = _click.Context(TyperCommand("x"))
        typers = build_runtime_param(described)
        for value in SAMPLES.get(described.annotation, []):
            assert outcome(plain.coerce, value, param, ctx) == outcome(
                typers.coerce, value, param, ctx
            ), (where, value)
            checked += 1
    assert checked > 1000  # every command's parameters were found and tried

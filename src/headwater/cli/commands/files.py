"""``hw files``: the versions of a project's files, what changed between two, and any file at any
version (seed 000: Change commits, File viewer, File version comparisons)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from headwater.cli.context import ProjectOption, connect
from headwater.cli.output import JsonOption, emit, size, versions_table

if TYPE_CHECKING:
    from rich.text import Text

    from headwater.domain.diffs import FileDiff
    from headwater.schemas.versions import DiffOut

app = typer.Typer(help="Versions of the project's files, diffs and contents.", no_args_is_help=True)

Limit = Annotated[int, typer.Option(min=1, max=10_000, help="Versions to list.")]
CommitOption = Annotated[
    str | None,
    typer.Option("--commit", "-c", help="A version (id or prefix). [default: the latest]"),
]


@app.command("versions")
def versions(limit: Limit = 50, project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """List the versions of the project's files, newest first."""
    with connect(project) as client:
        commits = client.files.repo().versions(limit=limit)
    emit(commits, as_json, versions_table)


@app.command("diff")
def diff(
    a: Annotated[str, typer.Argument(help="The older version (id or prefix).")],
    b: Annotated[str, typer.Argument(help="The newer version (id, prefix, or master).")],
    path: Annotated[str | None, typer.Argument(help="Only this file or folder.")] = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show what changed from version A to version B: a unified diff, notebooks cell by cell."""
    with connect(project) as client:
        changes = client.files.repo().diff(a, b, path=path)
    emit(changes, as_json, diff_view)


def diff_view(changes: DiffOut) -> Text:
    """Like ``git diff``: one file after another, added lines green, removed ones red."""
    from rich.text import Text

    if not changes.files:
        return Text("No differences.")
    out = Text().join(_file_view(f) for f in changes.files)
    out.rstrip()
    return out


_STYLES = (("+++", "bold"), ("---", "bold"), ("@@", "cyan"), ("+", "green"), ("-", "red"))


def _file_view(change: FileDiff) -> Text:
    from rich.text import Text

    if change.format == "text" and change.unified is not None:
        out = Text()
        for line in change.unified.splitlines(keepends=True):
            style = next((s for prefix, s in _STYLES if line.startswith(prefix)), "")
            out.append(line, style=style)
        if not change.unified:  # only the mode changed
            out.append(f"{change.path}: {change.kind.value} (same content)\n", style="bold")
        return out
    if change.format == "notebook":
        out = Text(f"--- a/{change.path}\n+++ b/{change.path}\n", style="bold")
        for cell in change.cells:
            if cell.status == "unchanged":
                if cell.outputs_changed:  # a re-run: no source lines to show, but say so
                    out.append(
                        f"@@ outputs of cell {cell.index} ({cell.cell_type}) changed @@\n",
                        style="cyan",
                    )
                continue
            said = ", outputs changed" if cell.outputs_changed else ""
            out.append(
                f"@@ cell {cell.index} ({cell.cell_type}) {cell.status}{said} @@\n", style="cyan"
            )
            for line in (cell.old_source or "").splitlines():
                out.append(f"-{line}\n", style="red")
            for line in (cell.new_source or "").splitlines():
                out.append(f"+{line}\n", style="green")
        return out
    sizes = " → ".join(size(n) for n in (change.old_size, change.new_size) if n is not None)
    return Text(f"Binary file {change.path} {change.kind.value} ({sizes})\n", style="bold")


@app.command("show")
def show(
    path: Annotated[str, typer.Argument(help="The file, relative to the project's root.")],
    commit: CommitOption = None,
    project: ProjectOption = None,
) -> None:
    """Print a file's content at a version, byte for byte, to stdout."""
    with connect(project) as client, client.files.repo().open(path, commit=commit) as chunks:
        out = sys.stdout.buffer
        for chunk in chunks:
            out.write(chunk)
        out.flush()

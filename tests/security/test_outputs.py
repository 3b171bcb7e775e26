"""Finding: an experiment whose output folder held one link pointing outside committed no
artifacts at all and still ended ``success``. Now the bad entry is skipped and named in the
log while the rest is committed, and an output commit that fails all the same fails the task."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from headwater.client.sync import push_folder
from tests.security.conftest import Site

pytestmark = pytest.mark.slow

BAD_ENTRIES = (
    "echo good > output/good.txt && mkdir output/sub && echo deep > output/sub/deep.txt"
    " && ln -s /etc/passwd output/evil"
    " && ln -s ../../admin.token output/token"
    " && ln -s ../../ output/up"
    " && ln -s /nowhere/at/all output/dangling"
    " && ln -s good.txt output/alias"
    " && mkfifo output/pipe"
)


def test_bad_entries_in_the_output_folder_are_skipped_and_named_the_rest_committed(
    site: Site,
) -> None:
    user = site.user()
    ran = site.run(user, BAD_ENTRIES)
    assert ran.experiment.state.value == "success", ran.log
    tree = user.files.repo().tree(commit=ran.experiment.output_commit)
    committed = {e.path for e in tree.entries}
    assert committed == {"output/good.txt", "output/sub/deep.txt", "output/alias"}
    content = user.files.repo().content
    assert content("output/alias", commit=ran.experiment.output_commit) == b"good\n"
    for name in ("evil", "token", "up", "dangling", "pipe"):
        assert f"output/{name} (" in ran.log, f"output/{name} is not named in the log"
    assert "skipped, not committed" in ran.log
    assert "root:" not in ran.log  # nothing of /etc/passwd came through


BAD_NAMES = (
    "echo good > output/good.txt"
    " && printf x > \"output/two$(printf '\\nlines')\""
    " && printf x > \"output/$(printf '\\342\\200\\256')txt.exe\""
    " && d=output && for i in $(seq 140); do d=$d/d; done && mkdir -p $d && echo deep > $d/f"
)


def test_names_a_commit_may_not_hold_are_skipped_and_named_the_rest_committed(
    site: Site,
) -> None:
    """A newline, a bidi override or a folder 140 levels deep in output/ would make the
    server refuse the whole commit: each is skipped and named, the good file committed."""
    user = site.user()
    ran = site.run(user, BAD_NAMES)
    assert ran.experiment.state.value == "success", ran.log
    tree = user.files.repo().tree(commit=ran.experiment.output_commit)
    assert {e.path for e in tree.entries} == {"output/good.txt"}
    assert "two\\u000alines (" in ran.log, ran.log
    assert "\\u202etxt.exe (" in ran.log, ran.log
    assert "levels)" in ran.log, ran.log


# The task commits output/result.txt on its own branch first (as the runtime does, with its
# token), then writes another output/result.txt: the runtime's commit meets a change on both
# sides of the same path, and the server refuses it.
COMMIT_FIRST = """\
import os
from pathlib import Path

from headwater.client import Client
from headwater.client.transfer import NoProgress
from headwater.client.workspace import hash_path
from headwater.domain.trees import Entry, Tree
from headwater.runtime.outputs import BranchTransfer

client = Client()
theirs = Path("theirs.txt")
theirs.write_text("written by the task itself")
tree = Tree.of([Entry("output/result.txt", hash_path(theirs), theirs.stat().st_size, 0o644)])
transfer = BranchTransfer(client.http, f"/projects/{os.environ['HEADWATER_PROJECT']}/files")
transfer.push(tree, {"output/result.txt": str(theirs)}, NoProgress(), known=[])
branch = "experiments/" + os.environ["HW_EXPERIMENT_NUMBER"]
print("the task committed", transfer.commit_on(tree, None, "the task's own", branch))
"""


def test_an_output_commit_the_server_refuses_fails_the_task(site: Site, tmp_path: Path) -> None:
    user = site.user()
    folder = tmp_path / f"src-{os.urandom(3).hex()}"
    folder.mkdir()
    (folder / "first.py").write_text(COMMIT_FIRST)
    push_folder(user.files.repo(), folder, message="a script")
    ran = site.run(user, "python first.py && echo mine > output/result.txt")
    assert "the task committed" in ran.log, ran.log
    assert ran.experiment.state.value == "failed", ran.log
    assert (ran.experiment.reason or "").startswith("the output commit failed:"), ran.log
    assert "output/result.txt" in (ran.experiment.reason or "")
    assert "could not commit the outputs" in ran.log

"""``hw`` start-up: what each command imports before its first request (issue 18).

Every command group is run twice in a fresh interpreter, through ``tests/support/importprobe.py``:
once with ``--help`` and once as a real call that stops at its first network call (the probe's
audit hook ends the process there, so no server is needed). What it imported by then must stay
inside a budget: nothing of the server stack or of other groups, no Rich before the answer is
rendered, no SDK, schemas or Pydantic for a group's ``--help``, and a ceiling on the modules
outside the standard library (today's figure plus a small margin, with the pinned versions of
``constraints.txt``: raise it only with a reason; the standard library is left out of the count
so that another Python 3 minor version does not move it). The import set, not a wall-clock
time, so the test is as stable on a busy CI machine as on a quiet one; ``benchmarks/startup.py``
measures the times.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from headwater.cli.main import COMMANDS
from tests.e2e.conftest import LiveServer, clean_env
from tests.support.liveserver import free_port

PROBE = Path(__file__).resolve().parents[1] / "support" / "importprobe.py"
PROJECT_ID = "p-startup"  # what the linked folder names; the probe stops before it is used

# Never before the first request of any `hw` command but `hw server` (nor in any `--help`):
# the server stack, the heavy libraries of single commands, httpx's own command line (click),
# Typer's Pydantic coercion (`hw` coerces plain values itself: cli/lazy.py), and the parts of
# Rich that Typer's help renderer imports for Markdown help and pretty tracebacks, which `hw`
# does not use (stand-ins: cli/deferred.py).
NEVER = (
    "headwater.server",
    "headwater.engine",
    "headwater.db",
    "headwater.runtime",
    "headwater.executors",
    "uvicorn",
    "fastapi",
    "starlette",
    "sqlalchemy",
    "alembic",
    "click",
    "cookiecutter",
    "nbdime",
    "graphviz",
    "typer._adapters",
    "rich.markdown",
    "rich.syntax",
    "rich.traceback",
    "markdown_it",
    "pygments",
    "attr",
)
# What any SDK call needs: the connection, the caller and the project scope.
CORE_SCHEMAS = frozenset({"common", "projects", "users"})
TRANSFERS = "versions frames"  # what moving files needs


@dataclass(frozen=True)
class Case:
    args: str
    ceiling: int  # modules outside the standard library imported by then
    schemas: frozenset[str] = frozenset()  # `headwater.schemas.*` beyond CORE_SCHEMAS
    groups: frozenset[str] = frozenset()  # command modules beyond the command's own
    says_first: bool = False  # prints a sentence (Rich) before its first request
    reads_yaml: bool = False  # reads a YAML file of the user's before its first request

    @property
    def argv(self) -> list[str]:
        return self.args.split()

    @property
    def helps(self) -> bool:
        return "--help" in self.argv


def case(
    args: str,
    ceiling: int,
    schemas: str = "",
    groups: str = "",
    says_first: bool = False,
    reads_yaml: bool = False,
) -> Case:
    return Case(
        args,
        ceiling,
        frozenset(schemas.split()),
        frozenset(groups.split()),
        says_first,
        reads_yaml,
    )


CASES = [
    case("--version", 40),
    case("--help", 131),
    case("keys --help", 98),
    case("server --help", 96),
    case("login --url http://127.0.0.1:9 --token t", 174),
    case("whoami --json", 174),
    case("token list --json", 173),
    case("token --help", 96),
    # "Current Active Project: Personal" comes before it asks the server about p-other
    case("configure --project p-other", 222, says_first=True),
    case("demo --port 9", 182, groups="experiments"),
    case("new fresh", 195, schemas=TRANSFERS),
    case("sync --help", 96),
    case("sync --json", 196, schemas=TRANSFERS),
    case("clone p-startup copy --json", 194, schemas=TRANSFERS),
    case("run -- python -c pass", 196, schemas="experiments " + TRANSFERS),
    case("run --help", 97),
    case("status --json", 176, schemas="experiments"),
    case("status --jobs --json", 177, schemas="experiments monitoring"),
    case("bakes --json", 183, schemas="flows"),
    case("inspect 1 --json", 183, schemas="flows"),
    case("endpoints --json", 184, schemas="endpoints"),
    case("endpoint --help", 98),
    case("endpoint list --json", 184, schemas="endpoints"),
    case("endpoint show my-model --json", 184, schemas="endpoints"),
    case("endpoint predict my-model --data [1,2] --json", 184, schemas="endpoints"),
    case("workspace list --json", 184, schemas="workspaces"),
    case("workspace --help", 97),
    case("tensorboard list --json", 185, schemas="workspaces"),
    case("tensorboard --help", 97),
    case("experiments list --json", 182, schemas="experiments"),
    case("experiments --help", 97),
    # `hw flow inspect` is `hw inspect` (bakes.py), registered on the flow group
    case("flow list --json", 185, schemas="flows", groups="bakes"),
    case("flow --help", 98, groups="bakes"),
    case("live ps --json", 242, schemas="experiments", groups="experiments", reads_yaml=True),
    case("compute list --json", 176, schemas="experiments"),
    case("user list --json", 175),
    case("project list --json", 182, groups="members"),
    case("project list", 182, groups="members"),
    case("project --help", 98, groups="members"),
    case("secret list --json", 186, schemas="settings"),
    case("env list --json", 186, schemas="settings"),
    case("keys list --json", 187, schemas="settings"),
    case("webhook list --json", 185, schemas="settings"),
    case("settings show --json", 186, schemas="settings"),
    case("files versions --json", 190, schemas=TRANSFERS),
    case("dataset list --json", 193, schemas=TRANSFERS, groups="collections"),
    case("dataset --help", 99, groups="collections"),
    case("model list --json", 193, schemas=TRANSFERS, groups="collections"),
    case("admin fsck --json", 179, schemas="versions"),
]


def third_party_and_ours(modules: list[str]) -> list[str]:
    stdlib = sys.stdlib_module_names
    return [m for m in modules if m.split(".")[0] not in stdlib and m != "__main__"]


def under(modules: list[str], *packages: str) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in packages)]


def own_module(argv: list[str]) -> str | None:
    word = next((a for a in argv if not a.startswith("-")), None)
    target = COMMANDS.get(word or "")
    return target.split(":")[0].rsplit(".", 1)[1] if target else None


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder linked to a project, with a live.yaml, and its own config dir and HOME."""
    root = tmp_path_factory.mktemp("startup")
    linked = root / "work"
    (linked / ".headwater").mkdir(parents=True)
    (linked / ".headwater" / "project.yml").write_text(f"id: {PROJECT_ID}\nname: startup\n")
    (linked / ".headwater" / "live.yaml").write_text(
        "jobs:\n  web:\n    command: python -m http.server\n"
    )
    (root / "config").mkdir()
    return linked


def probe(folder: Path, argv: list[str], env: dict[str, str], *, through: bool = False) -> dict:
    """Run ``hw ARGV`` under the import probe; its report."""
    report = folder.parent / "report.json"
    report.unlink(missing_ok=True)
    command = [sys.executable, str(PROBE), *(["--through"] if through else []), str(report)]
    done = subprocess.run(
        [*command, "hw", *argv], cwd=folder, env=env, capture_output=True, text=True, timeout=60
    )
    assert report.exists(), f"no report from hw {' '.join(argv)}: {done.stderr[-2000:]}"
    found: dict = json.loads(report.read_text())
    found["code"], found["stderr"] = done.returncode, done.stderr
    return found


@pytest.mark.parametrize("c", CASES, ids=[c.args for c in CASES])
def test_a_command_imports_only_what_it_uses_before_its_first_request(
    folder: Path, c: Case
) -> None:
    env = clean_env(
        folder.parent,
        folder.parent / "config",
        # a port nobody listens on: the probe ends the process at its first connect anyway
        HEADWATER_URL=f"http://127.0.0.1:{free_port()}",
        HEADWATER_TOKEN="not-a-real-token",
        PYTHONPATH=os.pathsep.join(sys.path),
    )
    found = probe(folder, c.argv, env)
    modules: list[str] = found["modules"]
    said = f"hw {c.args} ({found['reached']}, exit {found['code']}): {found['stderr'][-1500:]}"

    expected = "exit" if c.helps or c.args == "--version" else "network"
    assert found["reached"] == expected, said
    if expected == "exit":
        assert found["code"] == 0, said
    assert under(modules, *NEVER) == [], said

    own = own_module(c.argv)
    if own is not None:  # (`hw --help` lists every group: it loads them all, as it must)
        mine = {f"headwater.cli.commands.{g}" for g in {own, *c.groups}}
        others = [m for m in under(modules, "headwater.cli.commands") if m not in mine]
        assert [m for m in others if m != "headwater.cli.commands"] == [], said

    schemas = {m.rsplit(".", 1)[1] for m in under(modules, "headwater.schemas")} - {"schemas"}
    if c.helps or c.args == "--version":
        # help is Typer's (and Rich's): no SDK, no HTTP, no schemas
        assert under(modules, "headwater.client", "httpx", "httpcore") == [], said
        assert schemas == set(), said
        assert under(modules, "pydantic") == [], said
    else:
        # the answer is rendered after it arrives: no Rich before the request
        assert under(modules, "pygments", "markdown_it") == [], said
        if not c.says_first:
            assert under(modules, "rich") == [], said
        assert schemas <= CORE_SCHEMAS | c.schemas, (sorted(schemas), said)
        if not c.reads_yaml:  # the linked folder's project.yml is read without YAML
            assert under(modules, "yaml") == [], said
    if c.args == "--version":
        assert under(modules, "rich") == [], said

    counted = third_party_and_ours(modules)
    assert len(counted) <= c.ceiling, (
        f"hw {c.args} imported {len(counted)} modules outside the standard library before its "
        f"first request; the budget is {c.ceiling}. Import the new ones where they are used."
    )


def test_a_json_answer_never_imports_rich(live_server: LiveServer, folder: Path) -> None:
    """Through to the end against a real server: ``--json`` prints without Rich."""
    env = clean_env(
        folder.parent,
        folder.parent / "config",
        HEADWATER_URL=live_server.url,
        HEADWATER_TOKEN=live_server.admin_token,
        PYTHONPATH=os.pathsep.join(sys.path),
    )
    env.pop("HEADWATER_PROJECT", None)
    found = probe(folder.parent, ["project", "list", "--json"], env, through=True)
    assert found["code"] == 0, found["stderr"]
    assert under(found["modules"], "rich") == []
    shown = probe(folder.parent, ["project", "list"], env, through=True)
    assert shown["code"] == 0, shown["stderr"]
    assert "rich.table" in shown["modules"]  # the table view does load it
    listed = probe(folder.parent, ["endpoint", "list", "--json"], env, through=True)
    assert listed["code"] == 0, listed["stderr"]
    assert under(listed["modules"], "rich") == []

"""The attack run's findings, each a test against a real ``hw server`` with its real local
executor (the sandbox on where bubblewrap is installed, as on every CI machine).

``site`` is one server on a fresh home; ``site.user()`` makes a non-admin user and gives
their SDK client bound to their Personal project; ``site.run(client, cmd)`` runs one
experiment to its end and gives it back with its whole log.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from headwater.client import Client
from headwater.schemas.experiments import ExperimentOut
from tests.support.api import unique
from tests.support.liveserver import RunningServer, running_server

pytestmark = pytest.mark.slow


@dataclass
class Ran:
    experiment: ExperimentOut
    log: str


@dataclass
class Site:
    server: RunningServer
    tmp: Path
    clients: list[Client] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def home(self) -> Path:
        return self.server.home

    def client(self, token: str, project: str | None = None) -> Client:
        made = Client(self.url, token, project, config_dir=self.tmp / "cfg")
        self.clients.append(made)
        return made

    @property
    def admin(self) -> Client:
        return self.client(self.server.admin_token)

    def user(self, name: str | None = None) -> Client:
        """A new non-admin user's client, acting on their Personal project."""
        name = name or unique("user")
        created = self.admin.users.create(name, f"{name}@example.org")
        token = created.token
        return self.client(token, created.user.personal_project_id)

    def run(self, client: Client, command: str, timeout: float = 90) -> Ran:
        made = client.experiments.create(command)
        [done] = client.experiments.wait(made)
        return Ran(done, log_text(client, done.id))


def log_text(client: Client, ref: str) -> str:
    out, after = [], 0
    while True:
        page = client.experiments.logs(ref, after=after)
        if not page.chunks:
            return "".join(out)
        out += [c.text for c in page.chunks]
        after = page.next_seq


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """A real server on a fresh SQLite home, with its local worker."""
    log = tmp_path / "server.log"
    with running_server(tmp_path / "home", log, "--log-level", "warning") as srv:
        found = Site(server=srv, tmp=tmp_path)
        yield found
        for client in found.clients:
            client.close()

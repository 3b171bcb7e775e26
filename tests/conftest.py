"""Fixtures every suite shares: a real PostgreSQL cluster, and a server on either database.

``server`` runs each test twice: on SQLite in a fresh ``HEADWATER_HOME``, and on a fresh
database of a PostgreSQL cluster these tests start themselves (marked ``postgres``; deselect with
``-m "not postgres"``). Without PostgreSQL binaries those runs skip with the reason, unless
``HEADWATER_REQUIRE_POSTGRES=1`` (set by ``.ci/run``) turns the skip into a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

from tests.support.browser import browser  # noqa: F401  (the one browser of the session)
from tests.support.postgres import DATABASES, PostgresCluster, find_bindir, why_unavailable
from tests.support.rayhead import ray_head  # noqa: F401  (one Ray head a module, if asked)

if TYPE_CHECKING:
    # Imported lazily below: importing the TestClient warns, and the warning filter set in
    # pytest_configure is not in place yet while this file is imported.
    from tests.support.api import Server

settings.register_profile(
    "headwater", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.load_profile("headwater")


def pytest_configure(config: pytest.Config) -> None:
    # Starlette's TestClient warns that it prefers httpx2; httpx is what we pin.
    config.addinivalue_line(
        "filterwarnings", "ignore:Using `httpx` with `starlette.testclient` is deprecated"
    )


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    reason = why_unavailable()
    if reason is not None:
        if os.environ.get("HEADWATER_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"HEADWATER_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    bindir = find_bindir()
    assert bindir is not None
    cluster = PostgresCluster.start(bindir)
    yield cluster
    cluster.stop()


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None: SQLite in the server's home (the default); else a fresh, empty PostgreSQL
    database (the server migrates it at start, as on a first deployment)."""
    if request.param == "sqlite":
        yield None
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    with cluster.fresh_database() as url:
        yield url


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    return path


@pytest.fixture
def server(home: Path, database_url: str | None) -> Iterator[Server]:
    from tests.support.api import Server

    srv = Server(home, database_url)
    yield srv
    srv.close()

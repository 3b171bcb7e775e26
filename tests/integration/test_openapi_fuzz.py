"""Schemathesis over the OpenAPI document: whatever a client sends, the answer is never a 5xx.

Runs as an admin (who may call every route) against a project, a member and a webhook that
exist, so path parameters reach real objects rather than stopping at a 404.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.support.api import Api, Server, unique

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 5


@dataclass
class FuzzWorld:
    server: Server
    admin: Api
    project_id: str = ""
    member: str = "fuzz-member"
    webhook_id: str = ""
    dirty: bool = True  # a case may have deleted one of the objects below

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin.token}"}

    def ensure_objects(self) -> None:
        """Put back what earlier cases deleted (the project, the member, the webhook)."""
        if not self.dirty:
            return
        self.dirty = False
        admin = self.admin
        if not self.project_id or admin.get(f"/projects/{self.project_id}").status_code != 200:
            self.project_id = admin.create_project(unique("fuzz-"))["id"]
        pid = self.project_id
        members = [m["username"] for m in admin.get(f"/projects/{pid}/members").json()]
        if self.member not in members:
            response = admin.post(f"/projects/{pid}/members", json={"email": self.member})
            assert response.status_code == 201, response.text
        hooks = [h["id"] for h in admin.get(f"/projects/{pid}/webhooks").json()]
        if self.webhook_id not in hooks:
            hook = admin.post(f"/projects/{pid}/webhooks", json={"url": "https://example.org/h"})
            self.webhook_id = hook.json()["id"]


@pytest.fixture
def fuzz_world(server: Server) -> FuzzWorld:
    # A second admin: fuzzing /auth/password or /auth/logout must not lock out the first.
    fuzzer = server.create_user("fuzzer", admin=True)
    server.create_user("fuzz-member")
    world = FuzzWorld(server=server, admin=fuzzer)
    world.ensure_objects()
    return world


MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]


def test_no_server_errors(server: Server, fuzz_world: FuzzWorld, subtests: pytest.Subtests) -> None:
    # schemathesis' own pytest integration (`from_fixture` + `parametrize`) fails under pytest
    # 9 ('Function' object has no attribute '_nodeid'), so drive its strategies directly.
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", server.app)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 30, [op.label for op in operations]
    for operation, mode in itertools.product(operations, MODES):
        with subtests.test(f"{operation.label} ({mode.value})"):
            run_operation(operation, mode, fuzz_world)


def run_operation(operation: Any, mode: GenerationMode, world: FuzzWorld) -> None:
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        # No shrinking: a failing example is reported as found, which keeps a run with bugs
        # about as short as a run without.
        phases=[Phase.explicit, Phase.generate],
        report_multiple_bugs=False,
    )
    @given(case=operation.as_strategy(mode))
    def check(case: Any) -> None:
        world.ensure_objects()
        real = {
            "project_id": world.project_id,
            "member": world.member,
            "webhook_id": world.webhook_id,
        }
        params = case.path_parameters or {}
        for name in params.keys() & real.keys():
            params[name] = real[name]
        headers = dict(world.headers)
        if operation.path.endswith("/auth/logout"):
            # Logging out revokes the caller's token: use a throwaway user's.
            throwaway = world.server.create_user()
            headers["Authorization"] = f"Bearer {throwaway.token}"
        response = case.call(headers=headers)
        world.dirty = world.dirty or case.method.upper() in ("DELETE", "POST")
        case.validate_response(response, checks=[not_a_server_error])

    try:
        check()
    except Unsatisfiable:
        # Nothing in this operation can be made invalid (no parameters, no body).
        if mode is not GenerationMode.NEGATIVE:
            raise

"""Finding: a task can print its secrets in any encoding (the log masks only literal values), so
a member with ``jobs:all`` reads every secret a task receives. An owner can now mark a secret
owner-only: only tasks started by the project's owner or an admin receive it."""

from __future__ import annotations

import pytest

from headwater.domain.access import AccessLevel
from tests.security.conftest import Site
from tests.support.api import unique

pytestmark = pytest.mark.slow

# Which of the two variables the task's environment holds at all (their values are masked).
# The log shows the command too: the tests match whole lines.
PROBE = "; ".join(
    f'if [ -n "${{SECRET_{k}+x}}" ]; then echo "{k} is set"; else echo "{k} is unset"; fi'
    for k in "AB"
)


def test_an_owner_only_secret_reaches_owners_tasks_and_not_members(site: Site) -> None:
    owner = site.user()
    project = owner.projects.create(unique("shared"))
    member_name = unique("member")
    member = site.user(member_name)
    owner.members.add(f"{member_name}@example.org", jobs=AccessLevel.ALL, project=project.id)
    owner = site.client(owner.config.token or "", project.id)
    member = site.client(member.config.token or "", project.id)

    owner.secrets.set("SECRET_A", "plain-value")
    owner.secrets.set("SECRET_B", "owners-only-value", owner_only=True)
    listed = {s.key: s.owner_only for s in owner.secrets.list()}
    assert listed == {"SECRET_A": False, "SECRET_B": True}
    owner.secrets.set("SECRET_B", "rotated-value")  # a new value keeps the setting
    assert {s.key: s.owner_only for s in owner.secrets.list()}["SECRET_B"] is True

    by_member = site.run(member, PROBE)
    assert by_member.experiment.state.value == "success", by_member.log
    assert "A is set" in by_member.log.splitlines()
    assert "B is unset" in by_member.log.splitlines()

    by_owner = site.run(owner, PROBE)
    assert by_owner.experiment.state.value == "success", by_owner.log
    assert "A is set" in by_owner.log.splitlines()
    assert "B is set" in by_owner.log.splitlines()

    by_admin = site.run(site.client(site.server.admin_token, project.id), PROBE)
    assert "B is set" in by_admin.log.splitlines()

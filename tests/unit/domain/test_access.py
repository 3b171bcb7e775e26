"""The one access rule, ``allows``, over every role and every permission (seeds 000, 001, 003)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.access import (
    AccessLevel,
    Caller,
    Grant,
    Permission,
    ResourceType,
    allows,
    default_access,
)

READS = {Permission.read(r) for r in ResourceType}
WRITES = {Permission.write(r) for r in ResourceType}
EVERY = set(Permission)
READ, ALL = AccessLevel.READ, AccessLevel.ALL


def caller(
    *,
    owner: bool = False,
    admin: bool = False,
    grant: Grant | None = None,
    public: bool = False,
) -> Caller:
    return Caller(user_id="u1", is_admin=admin, is_owner=owner, grant=grant, project_public=public)


def grant(
    level: AccessLevel = READ,
    *,
    manage: bool = False,
    levels: dict[ResourceType, AccessLevel] | None = None,
) -> Grant:
    access = dict.fromkeys(ResourceType, level)
    access.update(levels or {})
    return Grant(access=access, manage=manage)


# (who, caller, the permissions it holds). Every other permission must be refused.
TABLE = [
    ("owner", caller(owner=True), EVERY),
    ("owner of a public project", caller(owner=True, public=True), EVERY),
    ("admin, not a member", caller(admin=True), EVERY),
    ("admin who is also a read member", caller(admin=True, grant=grant()), EVERY),
    ("read member", caller(grant=grant(READ)), {Permission.VIEW, *READS}),
    ("all member", caller(grant=grant(ALL)), {Permission.VIEW, *READS, *WRITES}),
    (
        "manage member with read",
        caller(grant=grant(READ, manage=True)),
        {Permission.VIEW, *READS, Permission.MANAGE_MEMBERS},
    ),
    (
        "manage member with all",
        caller(grant=grant(ALL, manage=True)),
        {Permission.VIEW, *READS, *WRITES, Permission.MANAGE_MEMBERS},
    ),
    (
        "read member of a public project",
        caller(grant=grant(), public=True),
        {Permission.VIEW, *READS},
    ),
    ("non-member, private project", caller(), set()),
    ("non-member, public project", caller(public=True), {Permission.VIEW, *READS}),
]


@pytest.mark.parametrize(("who", "subject", "held"), TABLE, ids=[row[0] for row in TABLE])
@pytest.mark.parametrize("permission", list(Permission), ids=lambda p: p.value)
def test_allows_table(
    who: str, subject: Caller, held: set[Permission], permission: Permission
) -> None:
    assert allows(subject, permission) is (permission in held), (who, permission)


@pytest.mark.parametrize("resource", list(ResourceType))
def test_all_on_one_resource_writes_only_that_resource(resource: ResourceType) -> None:
    subject = caller(grant=grant(READ, levels={resource: ALL}))
    for other in ResourceType:
        assert allows(subject, Permission.read(other))
        assert allows(subject, Permission.write(other)) is (other is resource), other
    assert not allows(subject, Permission.MANAGE_MEMBERS)
    assert not allows(subject, Permission.OWNER)


def test_a_grant_missing_a_resource_means_read() -> None:
    subject = caller(grant=Grant(access={ResourceType.JOBS: ALL}))
    assert allows(subject, Permission.JOBS_WRITE)
    assert allows(subject, Permission.FILES_READ)
    assert not allows(subject, Permission.FILES_WRITE)
    assert Grant().access == default_access()
    assert all(level is READ for level in default_access().values())


def test_permission_helpers_name_the_resource() -> None:
    for resource in ResourceType:
        assert Permission.read(resource).value == f"{resource.value}:read"
        assert Permission.write(resource).value == f"{resource.value}:write"


@pytest.mark.parametrize(
    ("subject", "role"),
    [
        (caller(owner=True, admin=True), "owner"),
        (caller(admin=True, grant=grant()), "admin"),
        (caller(grant=grant()), "member"),
        (caller(grant=grant(), public=True), "member"),
        (caller(public=True), "public"),
        (caller(), "none"),
    ],
)
def test_role(subject: Caller, role: str) -> None:
    assert subject.role == role


levels = st.sampled_from(list(AccessLevel))
grants = st.builds(
    Grant,
    access=st.dictionaries(st.sampled_from(list(ResourceType)), levels),
    manage=st.booleans(),
)
callers = st.builds(
    Caller,
    user_id=st.just("u"),
    is_admin=st.booleans(),
    is_owner=st.booleans(),
    grant=st.none() | grants,
    project_public=st.booleans(),
)


@given(callers)
def test_owner_or_admin_may_do_everything_and_only_they_the_owners_part(subject: Caller) -> None:
    privileged = subject.is_owner or subject.is_admin
    assert allows(subject, Permission.OWNER) is privileged
    if privileged:
        assert all(allows(subject, p) for p in Permission)


@given(callers, st.sampled_from(list(ResourceType)))
def test_write_implies_read_implies_view(subject: Caller, resource: ResourceType) -> None:
    if allows(subject, Permission.write(resource)):
        assert allows(subject, Permission.read(resource))
    if allows(subject, Permission.read(resource)):
        assert allows(subject, Permission.VIEW)


@given(callers, st.sampled_from(sorted(WRITES | {Permission.MANAGE_MEMBERS})))
def test_a_non_member_never_changes_anything(subject: Caller, permission: Permission) -> None:
    if not (subject.is_owner or subject.is_admin) and subject.grant is None:
        assert not allows(subject, permission)


@given(grants, st.sampled_from(list(Permission)))
def test_public_adds_nothing_to_a_member(member: Grant, permission: Permission) -> None:
    private = caller(grant=member)
    public = caller(grant=member, public=True)
    assert allows(private, permission) is allows(public, permission)

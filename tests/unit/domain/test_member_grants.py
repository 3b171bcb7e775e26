"""``check_member_change``: nobody grants more than they hold, nor changes their own row."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.access import (
    AccessLevel,
    Caller,
    Grant,
    ResourceType,
    check_member_change,
    exceeds,
)
from headwater.domain.errors import PermissionDenied

READ, ALL = AccessLevel.READ, AccessLevel.ALL


def grant(manage: bool = False, **levels: AccessLevel) -> Grant:
    access = dict.fromkeys(ResourceType, READ)
    access.update({ResourceType(k): v for k, v in levels.items()})
    return Grant(access=access, manage=manage)


def manager(held: Grant, *, owner: bool = False, admin: bool = False) -> Caller:
    return Caller("me", is_admin=admin, is_owner=owner, grant=held, project_public=False)


grants = st.builds(
    lambda levels, manage: Grant(
        access=dict(zip(ResourceType, levels, strict=True)), manage=manage
    ),
    st.lists(st.sampled_from(AccessLevel), min_size=4, max_size=4),
    st.booleans(),
)


def test_a_read_manager_cannot_raise_anyone_nor_add_managers_with_more() -> None:
    me = manager(grant(manage=True))
    with pytest.raises(PermissionDenied, match="more than you hold: jobs: all") as err:
        check_member_change(me, member_id="bob", current=None, new=grant(jobs=ALL))
    assert err.value.where == "access"
    check_member_change(me, member_id="bob", current=None, new=grant(manage=True))


def test_nobody_changes_or_removes_their_own_row() -> None:
    me = manager(grant(manage=True, jobs=ALL))
    for new in (grant(manage=True, jobs=ALL, models=ALL), grant(), None):
        with pytest.raises(PermissionDenied, match="their own access"):
            check_member_change(me, member_id="me", current=grant(manage=True), new=new)


def test_a_member_holding_more_is_out_of_reach() -> None:
    me = manager(grant(manage=True))
    above = grant(files=ALL)
    with pytest.raises(PermissionDenied, match=r"holds more than you do \(files: all\)"):
        check_member_change(me, member_id="bob", current=above, new=None)
    with pytest.raises(PermissionDenied, match="holds more"):
        check_member_change(me, member_id="bob", current=above, new=grant())


def test_a_manager_without_manage_on_the_grant_cannot_grant_manage() -> None:
    # require(MANAGE_MEMBERS) keeps such a caller out; the rule holds on its own too.
    me = manager(grant(jobs=ALL))
    with pytest.raises(PermissionDenied, match="manage"):
        check_member_change(me, member_id="bob", current=None, new=grant(manage=True))


@given(grants, grants, grants)
def test_owner_and_admin_may_do_anything(held: Grant, current: Grant, new: Grant) -> None:
    for caller in (manager(held, owner=True), manager(held, admin=True)):
        check_member_change(caller, member_id="bob", current=current, new=new)


@given(grants, grants)
def test_a_member_may_grant_exactly_what_they_hold(held: Grant, new: Grant) -> None:
    me = manager(held)
    if exceeds(new, held):
        with pytest.raises(PermissionDenied):
            check_member_change(me, member_id="bob", current=None, new=new)
    else:
        check_member_change(me, member_id="bob", current=None, new=new)
        # whatever they granted, they can take back
        check_member_change(me, member_id="bob", current=new, new=None)

"""The permission module as a table: every role and action (SPEC §1)."""

import pytest

from accounts.models import Membership, Role
from accounts.permissions import (
    Action,
    MemberChangeRefusal,
    can,
    may_change_role,
    member_change_refusal,
)
from tests import factories

OW, A, M, G = Role.OWNER, Role.ADMIN, Role.MEMBER, Role.GUEST

# action: roles that may do it
TABLE = {
    Action.VIEW_WORKSPACE: {OW, A, M, G},
    Action.DELETE_WORKSPACE: {OW},
    Action.MANAGE_WORKSPACE: {OW},
    Action.VIEW_BILLING: {OW},
    Action.VIEW_MEMBERS: {OW, A, M},
    Action.MANAGE_MEMBERS: {OW, A},
    Action.MANAGE_API_KEYS: {OW, A},
    Action.MANAGE_ASSISTANTS: {OW, A},
    Action.MANAGE_SETTINGS: {OW, A},
    Action.USE_ASSISTANTS: {OW, A, M},
    Action.CREATE_CHATS: {OW, A, M},
    Action.READ_ALL_CHATS: {OW, A},
    Action.VIEW_AUDIT_LOG: {OW, A},
    Action.REVOKE_API_KEYS: {OW, A},
}


def test_table_covers_every_action():
    assert set(TABLE) == set(Action)


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_role_action(role, action):
    workspace = factories.make_workspace()
    user = factories.add_member(workspace, role) if role != OW else factories.owner_of(workspace)
    assert can(user, action, workspace) is (role in TABLE[action])


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Membership.Status.INVITED, Membership.Status.SUSPENDED])
def test_only_active_memberships_grant_anything(status):
    workspace = factories.make_workspace()
    user = factories.add_member(workspace, Role.ADMIN, status=status)
    assert not any(can(user, action, workspace) for action in Action)


@pytest.mark.django_db
def test_other_workspaces_and_anonymous_grant_nothing():
    from django.contrib.auth.models import AnonymousUser

    workspace, other = factories.make_workspace(), factories.make_workspace()
    assert not can(factories.owner_of(other), Action.VIEW_WORKSPACE, workspace)
    assert not can(AnonymousUser(), Action.VIEW_WORKSPACE, workspace)


@pytest.mark.parametrize(
    ("actor", "target", "new", "is_self", "allowed"),
    [
        (OW, M, A, False, True),
        (OW, A, OW, False, True),  # owners grant owner
        (OW, OW, A, False, True),  # and remove it (the service keeps one owner)
        (A, M, A, False, True),
        (A, M, OW, False, False),  # admins cannot grant owner
        (A, OW, M, False, False),  # nor remove it
        (A, OW, None, False, False),
        (A, G, None, False, True),
        (M, G, M, False, False),  # members manage nobody
        (G, G, M, False, False),
        (OW, OW, A, True, False),  # nobody changes their own role
        (A, A, M, True, False),
    ],
)
def test_role_change_rules(actor, target, new, is_self, allowed):
    assert may_change_role(actor_role=actor, target_role=target, new_role=new, is_self=is_self) is allowed


@pytest.mark.parametrize(
    ("actor", "target", "new", "is_self", "refusal"),
    [
        (OW, OW, M, False, None),
        (A, G, M, False, None),
        (M, G, G, False, MemberChangeRefusal.NOT_A_MANAGER),
        (G, G, None, True, MemberChangeRefusal.NOT_A_MANAGER),  # not a manager, whoever the target
        (None, M, G, False, MemberChangeRefusal.NOT_A_MANAGER),  # no active membership
        (A, OW, OW, False, MemberChangeRefusal.OWNER_ONLY),
        (A, A, OW, True, MemberChangeRefusal.OWNER_ONLY),  # the role rule first, then the self rule
        (A, A, M, True, MemberChangeRefusal.SELF),
        (OW, OW, None, True, MemberChangeRefusal.SELF),
    ],
)
def test_why_a_member_change_is_refused(actor, target, new, is_self, refusal):
    assert member_change_refusal(actor_role=actor, target_role=target, new_role=new, is_self=is_self) is refusal


@pytest.mark.parametrize(
    ("actor", "target", "is_self", "allowed"),
    [
        (OW, OW, False, True),  # owners suspend owners (the service keeps an active owner)
        (OW, G, False, True),
        (A, A, False, True),
        (A, G, False, True),
        (A, OW, False, False),  # admins cannot suspend or reactivate owners
        (M, G, False, False),
        (G, G, False, False),
        (OW, OW, True, False),  # nobody suspends themselves
        (A, A, True, False),
    ],
)
def test_status_changes_follow_the_role_change_rules(actor, target, is_self, allowed):
    """A status change is checked as a "change" to the role the member already has."""
    assert may_change_role(actor_role=actor, target_role=target, new_role=target, is_self=is_self) is allowed

"""The one place that answers "may this user do X in this workspace" (SPEC §1).

Pages, the admin and DRF permission classes all ask ``can()``; the table below is
the whole policy, read top to bottom.
"""

from __future__ import annotations

from enum import StrEnum

from accounts.models import Membership, Role, Workspace


class Action(StrEnum):
    VIEW_WORKSPACE = "workspace.view"
    DELETE_WORKSPACE = "workspace.delete"
    VIEW_BILLING = "billing.view"
    VIEW_MEMBERS = "members.view"
    MANAGE_MEMBERS = "members.manage"
    MANAGE_API_KEYS = "apikeys.manage"
    MANAGE_ASSISTANTS = "assistants.manage"
    MANAGE_SETTINGS = "settings.manage"
    USE_ASSISTANTS = "assistants.use"
    CREATE_CHATS = "chats.create"
    READ_ALL_CHATS = "chats.read_all"
    VIEW_AUDIT_LOG = "audit.view"


_EVERYONE = frozenset(Role)
_MEMBERS_UP = frozenset({Role.OWNER, Role.ADMIN, Role.MEMBER})
_ADMINS_UP = frozenset({Role.OWNER, Role.ADMIN})
_OWNERS = frozenset({Role.OWNER})

POLICY: dict[Action, frozenset[Role]] = {
    Action.VIEW_WORKSPACE: _EVERYONE,
    Action.DELETE_WORKSPACE: _OWNERS,
    Action.VIEW_BILLING: _OWNERS,
    Action.VIEW_MEMBERS: _MEMBERS_UP,
    Action.MANAGE_MEMBERS: _ADMINS_UP,
    Action.MANAGE_API_KEYS: _ADMINS_UP,
    Action.MANAGE_ASSISTANTS: _ADMINS_UP,
    Action.MANAGE_SETTINGS: _ADMINS_UP,
    Action.USE_ASSISTANTS: _MEMBERS_UP,
    Action.CREATE_CHATS: _MEMBERS_UP,
    Action.READ_ALL_CHATS: _ADMINS_UP,
    Action.VIEW_AUDIT_LOG: _ADMINS_UP,
}

# Who may be told who can manage API keys, in words (the 403 page uses it).
API_KEY_MANAGERS_TEXT = "Only workspace owners and admins can manage API keys."


def active_membership(user: object, workspace: Workspace) -> Membership | None:
    """The user's active membership in the workspace, or ``None``."""
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        Membership.objects.filter(workspace=workspace, user=user, status=Membership.Status.ACTIVE)
        .select_related("workspace")
        .first()
    )


def role_of(user: object, workspace: Workspace) -> Role | None:
    membership = active_membership(user, workspace)
    return Role(membership.role) if membership else None


def role_allows(role: Role | str | None, action: Action) -> bool:
    return role is not None and Role(role) in POLICY[action]


def can(user: object, action: Action, workspace: Workspace) -> bool:
    """May ``user`` perform ``action`` in ``workspace``? Only active memberships count."""
    return role_allows(role_of(user, workspace), action)


def may_change_role(
    *, actor_role: Role | str | None, target_role: Role | str, new_role: Role | str | None, is_self: bool
) -> bool:
    """Role-change rules: nobody changes their own role; only owners grant or remove owner.

    ``new_role=None`` means removing the member from the workspace.
    """
    if is_self or not role_allows(actor_role, Action.MANAGE_MEMBERS):
        return False
    touches_owner = Role(target_role) == Role.OWNER or (new_role is not None and Role(new_role) == Role.OWNER)
    return not (touches_owner and Role(actor_role) != Role.OWNER)  # type: ignore[arg-type]  # checked above

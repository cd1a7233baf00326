"""The one place that answers "may this user do X in this workspace" (SPEC §1, §2, §8).

Pages, the admin, services and DRF permission classes all ask ``can()``; the role
table, what support staff may do on any workspace, and the plan rule below are
the whole policy, read top to bottom. The ``Support`` group's migration grants
exactly ``SUPPORT_GROUP_PERMISSIONS``.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from accounts.actors import Actor, ActorKind
from accounts.models import PAID_PLANS, Membership, Role, Workspace


class Action(StrEnum):
    VIEW_WORKSPACE = "workspace.view"
    DELETE_WORKSPACE = "workspace.delete"
    MANAGE_WORKSPACE = "workspace.manage"
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
    REVOKE_API_KEYS = "apikeys.revoke"


_EVERYONE = frozenset(Role)
_MEMBERS_UP = frozenset({Role.OWNER, Role.ADMIN, Role.MEMBER})
_ADMINS_UP = frozenset({Role.OWNER, Role.ADMIN})
_OWNERS = frozenset({Role.OWNER})

POLICY: dict[Action, frozenset[Role]] = {
    Action.VIEW_WORKSPACE: _EVERYONE,
    Action.DELETE_WORKSPACE: _OWNERS,
    Action.MANAGE_WORKSPACE: _OWNERS,
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
    Action.REVOKE_API_KEYS: _ADMINS_UP,
}

# Support staff act on every workspace through Django permissions, not memberships.
SUPPORT_GROUP = "Support"
STAFF_PERMISSIONS: dict[Action, str] = {Action.REVOKE_API_KEYS: "apikeys.revoke_apikey"}
# The Support group views everything of these apps and holds STAFF_PERMISSIONS;
# it changes no plan and deletes nothing (SPEC §8).
SUPPORT_VIEW_APPS = ("accounts", "apikeys", "assistants", "auth", "crm", "webhooks", "widget")
# Beyond viewing, by app: granted by that app's own Support-group migration, once its
# tables exist ("Retry now" on webhook deliveries puts them back in line; it changes nothing else).
SUPPORT_APP_PERMISSIONS: dict[str, tuple[str, ...]] = {"webhooks": ("retry_delivery",)}
SUPPORT_GROUP_PERMISSIONS = tuple(STAFF_PERMISSIONS.values())

# What the 403 pages say, in words.
DENIED_TEXT: dict[Action, str] = {
    Action.MANAGE_API_KEYS: "Only workspace owners and admins can manage API keys.",
    Action.REVOKE_API_KEYS: "Only workspace owners and admins, or support staff, can revoke keys.",
    Action.VIEW_AUDIT_LOG: "Only workspace owners and admins can view the audit log.",
    Action.VIEW_MEMBERS: "Only workspace owners, admins and members can see the members list.",
    Action.MANAGE_MEMBERS: "Only workspace owners and admins can invite and manage members.",
    Action.VIEW_BILLING: "Only workspace owners can see the plan and upgrade it.",
    Action.DELETE_WORKSPACE: "Only workspace owners can delete the workspace.",
    Action.MANAGE_WORKSPACE: "Only workspace owners can change the workspace's settings.",
}


def denied_hint(action: Action) -> str:
    """What to do instead when a role may not do ``action``: whom to ask (an error's hint)."""
    if Role.ADMIN in POLICY[action]:
        return "Ask an owner or admin of this workspace."
    return "Ask an owner of this workspace."


NOT_A_MEMBER_TEXT = "You are not an active member of a workspace."
NOT_A_MEMBER_HINT = "Ask an owner or admin to invite you, or to reactivate your membership."


def active_membership(user: object, workspace: Workspace) -> Membership | None:
    """The user's active membership in the workspace, or ``None``."""
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        Membership.objects.filter(workspace=workspace, user=user, status=Membership.Status.ACTIVE)  # type: ignore[misc]  # an authenticated user
        .select_related("workspace")
        .first()
    )


def role_of(user: object, workspace: Workspace) -> Role | None:
    membership = active_membership(user, workspace)
    return Role(membership.role) if membership else None


def role_allows(role: Role | str | None, action: Action) -> bool:
    return role is not None and Role(role) in POLICY[action]


def staff_may(user: object, action: Action) -> bool:
    """Whether support staff's Django permissions allow ``action`` on any workspace."""
    permission = STAFF_PERMISSIONS.get(action)
    return bool(permission and getattr(user, "is_staff", False) and user.has_perm(permission))  # type: ignore[attr-defined]  # a User when is_staff


def can(user: object, action: Action, workspace: Workspace) -> bool:
    """May ``user`` perform ``action`` in ``workspace``? Active memberships, or staff permissions."""
    return role_allows(role_of(user, workspace), action) or staff_may(user, action)


def actor_may(actor: Actor, action: Action, workspace: Workspace) -> bool:
    """``can()`` for any actor: a user by role or staff permission; Parley itself always.

    API keys and visitors act through their own checks (scopes, visitor tokens), never these actions.
    """
    if actor.kind == ActorKind.SYSTEM:
        return True
    return actor.kind == ActorKind.USER and can(actor.user, action, workspace)


def plan_allows_scopes(plan: str, scopes: Iterable[str]) -> bool:
    """SPEC §2: a ``free`` workspace may use read scopes only (``events:read`` included)."""
    return plan in PAID_PLANS or not any(scope.endswith(":write") for scope in scopes)


class MemberChangeRefusal(StrEnum):
    """Why a role change, status change or removal of a membership is refused."""

    NOT_A_MANAGER = "not_a_manager"  # only owners and admins manage members
    OWNER_ONLY = "owner_only"  # only owners grant, change or remove the owner role
    SELF = "self"  # nobody changes their own role or status, or removes themselves


def member_change_refusal(
    *, actor_role: Role | str | None, target_role: Role | str, new_role: Role | str | None, is_self: bool
) -> MemberChangeRefusal | None:
    """The role rules of SPEC §1 for changing someone's membership; ``None`` when allowed.

    ``new_role`` is the role asked for; ``None`` means removing the member. A status
    change (suspend, reactivate) is checked with ``new_role=target_role``: it follows
    the same rules. That a workspace keeps an active owner is a rule on the data,
    checked by the services (``accounts.services.LastOwner``).
    """
    if not role_allows(actor_role, Action.MANAGE_MEMBERS):
        return MemberChangeRefusal.NOT_A_MANAGER
    touches_owner = Role(target_role) == Role.OWNER or (new_role is not None and Role(new_role) == Role.OWNER)
    if touches_owner and Role(actor_role) != Role.OWNER:  # type: ignore[arg-type]  # a manager's role, checked above
        return MemberChangeRefusal.OWNER_ONLY
    return MemberChangeRefusal.SELF if is_self else None


def may_change_role(
    *, actor_role: Role | str | None, target_role: Role | str, new_role: Role | str | None, is_self: bool
) -> bool:
    """Role-change rules: nobody changes their own role; only owners grant or remove owner.

    ``new_role=None`` means removing the member from the workspace; ``new_role=target_role``
    a status change (suspend, reactivate), which follows the same rules.
    """
    return (
        member_change_refusal(actor_role=actor_role, target_role=target_role, new_role=new_role, is_self=is_self)
        is None
    )


def actor_member_change_refusal(
    actor: Actor, membership: Membership, *, new_role: Role | str | None
) -> MemberChangeRefusal | None:
    """``member_change_refusal`` for ``actor`` acting on ``membership`` (its current role and workspace).

    For a status change pass ``new_role=membership.role``. Parley itself (a system
    actor) is refused nothing; API keys and visitors manage nobody.
    """
    if actor.kind == ActorKind.SYSTEM:
        return None
    if actor.kind != ActorKind.USER or actor.user is None:
        return MemberChangeRefusal.NOT_A_MANAGER
    return member_change_refusal(
        actor_role=role_of(actor.user, membership.workspace),
        target_role=membership.role,
        new_role=new_role,
        is_self=membership.user_id == actor.user.pk,
    )

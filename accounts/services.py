"""Writes on accounts: sign-up, workspaces, invitations, roles, audit events."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.text import slugify

from accounts.models import AuditEvent, Membership, Plan, Role, User, Workspace
from accounts.permissions import may_change_role, role_of
from accounts.signals import workspace_access_changed, workspace_plan_change_warnings


class MembershipError(Exception):
    """A membership change that the rules of SPEC §1 refuse."""


class AlreadyMemberError(MembershipError):
    """The person is already a member of, or invited to, the workspace."""


def audit_log(
    *,
    action: str,
    workspace: Workspace | None,
    actor_user: User | None = None,
    actor_api_key_id: int | None = None,
    actor_label: str = "",
    target: Any = None,
    target_label: str = "",
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit event. ``target`` is any model instance (type and id are kept)."""
    if not actor_label and actor_user is not None:
        actor_label = actor_user.email
    return AuditEvent.objects.create(
        workspace=workspace,
        actor_user=actor_user,
        actor_api_key_id=actor_api_key_id,
        actor_label=actor_label,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=target_label or (str(target) if target is not None else ""),
        ip=ip or None,
        details=details or {},
    )


def _unique_slug(name: str) -> str:
    base = slugify(name)[:100] or "workspace"
    slug, n = base, 1
    while Workspace.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def workspace_create(*, name: str, owner: User, plan: str = Plan.FREE) -> Workspace:
    """Create a workspace with ``owner`` as its (first) owner."""
    workspace = Workspace.objects.create(name=name[: Workspace.MAX_NAME_LENGTH], slug=_unique_slug(name), plan=plan)
    Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER, status=Membership.Status.ACTIVE)
    audit_log(action="workspace.created", workspace=workspace, actor_user=owner, target=workspace)
    return workspace


def personal_workspace_name(user: User) -> str:
    local = user.name or user.email.split("@", 1)[0]
    return f"{local}'s workspace"


@transaction.atomic
def user_signup_complete(*, user: User, email_verified: bool) -> Workspace:
    """After a user is created (locally or by SSO): their personal workspace, as owner on free."""
    workspace = workspace_create(name=personal_workspace_name(user), owner=user)
    if email_verified:
        membership_accept_invitations(user=user)
    return workspace


@transaction.atomic
def membership_invite(*, workspace: Workspace, actor: User, email: str, role: str = Role.MEMBER) -> Membership:
    """Invite an email into the workspace. Admins cannot invite owners."""
    actor_role = role_of(actor, workspace)
    if not may_change_role(actor_role=actor_role, target_role=Role.MEMBER, new_role=role, is_self=False):
        raise MembershipError("You may not invite with that role.")
    email = email.strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    existing = Membership.objects.filter(workspace=workspace).filter(
        user=user if user else None, **({} if user else {"invited_email__iexact": email})
    )
    if existing.exists():
        raise AlreadyMemberError("That person is already a member or invited.")
    membership = Membership.objects.create(
        workspace=workspace,
        user=user,
        invited_email=email,
        role=role,
        status=Membership.Status.INVITED,
        invited_by=actor,
    )
    audit_log(
        action="member.invited",
        workspace=workspace,
        actor_user=actor,
        target=membership,
        target_label=email,
        details={"role": role},
    )
    return membership


@transaction.atomic
def membership_accept_invitations(*, user: User) -> list[Membership]:
    """Activate the user's pending invitations. Call only with a verified email."""
    pending = (
        Membership.objects.select_for_update()
        .filter(status=Membership.Status.INVITED)
        .filter(Q(user=user) | Q(user__isnull=True, invited_email__iexact=user.email))
    )
    accepted = []
    for membership in pending:
        if membership.user_id is None and Membership.objects.filter(workspace=membership.workspace, user=user).exists():
            continue  # already a member there through another row
        membership.user = user
        membership.status = Membership.Status.ACTIVE
        membership.save(update_fields=["user", "status"])
        audit_log(action="member.joined", workspace=membership.workspace, actor_user=user, target=membership)
        accepted.append(membership)
    return accepted


@transaction.atomic
def membership_change_role(*, membership: Membership, actor: User, role: str) -> Membership:
    """Change a member's role under the rules of SPEC §1."""
    actor_role = role_of(actor, membership.workspace)
    if not may_change_role(
        actor_role=actor_role, target_role=membership.role, new_role=role, is_self=membership.user_id == actor.pk
    ):
        raise MembershipError("You may not change this member's role.")
    if membership.role == Role.OWNER and role != Role.OWNER:
        _ensure_another_owner(membership)
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_log(
        action="member.role_changed",
        workspace=membership.workspace,
        actor_user=actor,
        target=membership,
        details={"from": old, "to": role},
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: User) -> None:
    actor_role = role_of(actor, membership.workspace)
    if not may_change_role(
        actor_role=actor_role, target_role=membership.role, new_role=None, is_self=membership.user_id == actor.pk
    ):
        raise MembershipError("You may not remove this member.")
    if membership.role == Role.OWNER:
        _ensure_another_owner(membership)
    audit_log(action="member.removed", workspace=membership.workspace, actor_user=actor, target=membership)
    membership.delete()


def _ensure_another_owner(membership: Membership) -> None:
    others = Membership.objects.filter(
        workspace=membership.workspace, role=Role.OWNER, status=Membership.Status.ACTIVE
    ).exclude(pk=membership.pk)
    if not others.exists():
        raise MembershipError("A workspace always keeps at least one owner.")


def plan_change_warnings(*, workspace: Workspace, new_plan: str) -> list[str]:
    """What a move to ``new_plan`` would break, as told by the apps above (keys losing scopes)."""
    if new_plan == workspace.plan:
        return []
    responses = workspace_plan_change_warnings.send(sender=Workspace, workspace=workspace, new_plan=new_plan)
    return [warning for _, warnings in responses for warning in warnings or []]


@transaction.atomic
def workspace_update(
    *, workspace: Workspace, actor: User | None, plan: str | None = None, status: str | None = None
) -> Workspace:
    """Change plan and/or status (support staff, in the admin). Credentials notice at once."""
    changes: dict[str, Any] = {}
    if plan is not None and plan != workspace.plan:
        changes["plan"] = {"from": workspace.plan, "to": plan}
        workspace.plan = plan
    if status is not None and status != workspace.status:
        changes["status"] = {"from": workspace.status, "to": status}
        workspace.status = status
    if not changes:
        return workspace
    workspace.save(update_fields=["plan", "status"])
    audit_log(action="workspace.updated", workspace=workspace, actor_user=actor, target=workspace, details=changes)
    # API keys cache their workspace's plan and status: they must hear of it (SPEC §10).
    workspace_access_changed.send(sender=Workspace, workspace=workspace, phase="in_transaction")
    return workspace

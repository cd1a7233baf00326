"""Writes on accounts: sign-up, workspaces, invitations, members' roles and status, audit events."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.text import slugify

from accounts.actors import Actor
from accounts.models import AuditEvent, Membership, Plan, Role, User, Workspace
from accounts.permissions import (
    DENIED_TEXT,
    Action,
    MemberChangeRefusal,
    actor_may,
    actor_member_change_refusal,
    denied_hint,
    may_change_role,
    role_of,
)
from accounts.signals import workspace_access_changed
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.events import events_delete_for_workspace


class AlreadyMember(Conflict):
    message = "That person is already a member or invited."
    hint = "Look them up in the members list instead of inviting them again."


class MemberNotFound(NotFound):
    # The same answer for an unknown id and for another workspace's membership.
    message = "No member with that id in this workspace."


class LastOwner(Conflict):
    message = "A workspace always keeps at least one active owner."
    hint = "Make another member an owner first."


class InvitationNotAccepted(Conflict):
    message = "This invitation has not been accepted yet: it has no status to change."
    hint = "Change its role, or remove the invitation."


class OwnersOnly(Forbidden):
    message = "Only owners can grant, change or remove the owner role."
    hint = "Ask an owner of this workspace."


class OwnMembership(Forbidden):
    message = "You cannot change your own role or status."
    hint = "Ask another owner or admin of this workspace to do it."


class OwnRemoval(Forbidden):
    message = "You cannot remove yourself here."
    hint = "Ask another owner or admin of this workspace to remove you."


SETTABLE_STATUSES = (Membership.Status.ACTIVE, Membership.Status.SUSPENDED)


def audit_event_create(
    *,
    action: str,
    workspace: Workspace | None,
    actor: Actor,
    target: Any = None,
    target_label: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit event. ``target`` is any model instance (type and id are kept)."""
    return AuditEvent.objects.create(
        workspace=workspace,
        actor_kind=actor.kind,
        actor_user=actor.user,
        actor_ref=actor.ref,
        actor_label=actor.label,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=target_label or (str(target) if target is not None else ""),
        ip=actor.ip or None,
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
    audit_event_create(action="workspace.created", workspace=workspace, actor=Actor.for_user(owner), target=workspace)
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
def membership_invite(*, workspace: Workspace, actor: Actor, email: str, role: str = Role.MEMBER) -> Membership:
    """Invite an email into the workspace. Admins cannot invite owners."""
    actor_role = role_of(actor.user, workspace)
    if not may_change_role(actor_role=actor_role, target_role=Role.MEMBER, new_role=role, is_self=False):
        raise Forbidden("You may not invite with that role.", hint="Only owners invite owners.")
    email = email.strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    existing = Membership.objects.filter(workspace=workspace).filter(
        user=user if user else None, **({} if user else {"invited_email__iexact": email})
    )
    if existing.exists():
        raise AlreadyMember
    membership = Membership.objects.create(
        workspace=workspace,
        user=user,
        invited_email=email,
        role=role,
        status=Membership.Status.INVITED,
        invited_by=actor.user,
    )
    audit_event_create(
        action="member.invited",
        workspace=workspace,
        actor=actor,
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
        audit_event_create(
            action="member.joined", workspace=membership.workspace, actor=Actor.for_user(user), target=membership
        )
        accepted.append(membership)
    return accepted


def member_label(membership: Membership) -> str:
    """The member's email: their account's, or the invited address."""
    return membership.user.email if membership.user else membership.invited_email


def _lock_membership(membership: Membership) -> Membership:
    """Lock the workspace (one membership change at a time per workspace), then re-read the membership.

    Everything the rules read (the actor's role, the other owners) is read after the lock.
    """
    Workspace.objects.select_for_update().filter(pk=membership.workspace_id).first()
    fresh = Membership.objects.select_related("workspace", "user").filter(pk=membership.pk).first()
    if fresh is None:
        raise MemberNotFound
    return fresh


def _is_active_owner(role: str, status: str) -> bool:
    return role == Role.OWNER and status == Membership.Status.ACTIVE


def _keeps_an_active_owner(membership: Membership, *, stays_active_owner: bool) -> bool:
    """False when ``membership`` is the workspace's last active owner and is not to stay one."""
    if stays_active_owner or not _is_active_owner(membership.role, membership.status):
        return True
    others = Membership.objects.filter(
        workspace_id=membership.workspace_id, role=Role.OWNER, status=Membership.Status.ACTIVE
    ).exclude(pk=membership.pk)
    return others.exists()


def _refuse(refusals: list[MemberChangeRefusal | None], *, keeps_an_owner: bool, removing: bool = False) -> None:
    """Raise for the first refusal: the role rules, then the last-owner rule, then the self rule.

    The last-owner rule comes before the self rule: a sole owner changing their own
    membership learns what to do first (make another owner), not only "ask someone".
    """
    if MemberChangeRefusal.NOT_A_MANAGER in refusals:
        raise Forbidden(DENIED_TEXT[Action.MANAGE_MEMBERS], hint=denied_hint(Action.MANAGE_MEMBERS))
    if MemberChangeRefusal.OWNER_ONLY in refusals:
        raise OwnersOnly
    if not keeps_an_owner:
        raise LastOwner
    if MemberChangeRefusal.SELF in refusals:
        raise OwnRemoval if removing else OwnMembership


@transaction.atomic
def membership_update(
    *, membership: Membership, actor: Actor, role: str | None = None, status: str | None = None
) -> Membership:
    """Change a member's role and/or status (``active``/``suspended``) under SPEC §1's rules.

    Admins and owners change members; only owners touch the owner role; nobody changes
    their own membership; the workspace keeps an active owner. A suspended membership
    grants nothing from the member's next request on (memberships are read per request).
    """
    errors: dict[str, list[str]] = {}
    if role is not None and role not in Role.values:
        errors["role"] = [f'"{role}" is not a valid choice.']
    if status is not None and status not in SETTABLE_STATUSES:
        errors["status"] = [f'"{status}" is not a valid choice.']
    if errors:
        raise InvalidInput(errors)
    membership = _lock_membership(membership)
    refusals = []
    if role is not None:
        refusals.append(actor_member_change_refusal(actor, membership, new_role=role))
    if status is not None:  # the role rules, the role staying as it is
        refusals.append(actor_member_change_refusal(actor, membership, new_role=membership.role))
    new_role, new_status = role or membership.role, status or membership.status
    keeps = _keeps_an_active_owner(membership, stays_active_owner=_is_active_owner(new_role, new_status))
    _refuse(refusals, keeps_an_owner=keeps)
    if status is not None and membership.status == Membership.Status.INVITED:
        raise InvitationNotAccepted
    label = member_label(membership)
    if new_role != membership.role:
        audit_event_create(
            action="member.role_changed",
            workspace=membership.workspace,
            actor=actor,
            target=membership,
            target_label=label,
            details={"from": membership.role, "to": new_role},
        )
    if new_status != membership.status:
        audit_event_create(
            action="member.status_changed",
            workspace=membership.workspace,
            actor=actor,
            target=membership,
            target_label=label,
            details={"from": membership.status, "to": new_status},
        )
    if (new_role, new_status) != (membership.role, membership.status):
        membership.role, membership.status = new_role, new_status
        membership.save(update_fields=["role", "status"])
    return membership


@transaction.atomic
def membership_change_role(*, membership: Membership, actor: Actor, role: str) -> Membership:
    """Change a member's role (``membership_update`` with a role only)."""
    return membership_update(membership=membership, actor=actor, role=role)


@transaction.atomic
def membership_remove(*, membership: Membership, actor: Actor) -> None:
    """Remove a member or an invitation from the workspace, under the same rules as a role change."""
    membership = _lock_membership(membership)
    refusal = actor_member_change_refusal(actor, membership, new_role=None)
    keeps = _keeps_an_active_owner(membership, stays_active_owner=False)
    _refuse([refusal], keeps_an_owner=keeps, removing=True)
    audit_event_create(
        action="member.removed",
        workspace=membership.workspace,
        actor=actor,
        target=membership,
        target_label=member_label(membership),
        details={"role": membership.role, "status": membership.status},
    )
    membership.delete()


def _confirm_error(workspace: Workspace) -> str:
    return f"Type the workspace's name exactly, {workspace.name}, to confirm deleting it."


@transaction.atomic
def workspace_delete(*, workspace: Workspace, actor: Actor, confirm: str) -> None:
    """Delete the workspace and everything in it (owners), confirmed by its exact name.

    The audit event (``workspace=None``, naming it) outlives it. API keys hear of it
    before the rows go (``workspace_access_changed``), so a cached key stops working
    on its next request.
    """
    locked = Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
    if locked is None:
        raise NotFound("This workspace no longer exists.")
    workspace = locked
    if not actor_may(actor, Action.DELETE_WORKSPACE, workspace):
        raise Forbidden(DENIED_TEXT[Action.DELETE_WORKSPACE], hint=denied_hint(Action.DELETE_WORKSPACE))
    if confirm != workspace.name:
        raise InvalidInput({"confirm": [_confirm_error(workspace)]})
    audit_event_create(
        action="workspace.deleted",
        workspace=None,
        actor=actor,
        target=workspace,
        target_label=workspace.name,
        details={"workspace_id": workspace.pk, "name": workspace.name, "plan": workspace.plan},
    )
    workspace_access_changed.send(sender=Workspace, workspace=workspace, phase="in_transaction")
    events_delete_for_workspace(workspace_id=workspace.pk)  # plain ids in the outbox: no cascade
    workspace.delete()


@transaction.atomic
def workspace_settings_update(
    *, workspace: Workspace, actor: Actor, stale_keys_digest: bool | None = None
) -> Workspace:
    """The settings owners change themselves (``PATCH /api/workspace/settings``): the weekly stale-keys e-mail."""
    locked = Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
    if locked is None:
        raise NotFound("This workspace no longer exists.")
    workspace = locked
    if not actor_may(actor, Action.MANAGE_WORKSPACE, workspace):
        raise Forbidden(DENIED_TEXT[Action.MANAGE_WORKSPACE], hint=denied_hint(Action.MANAGE_WORKSPACE))
    if stale_keys_digest is not None and stale_keys_digest != workspace.stale_keys_digest:
        changes = {"stale_keys_digest": {"from": workspace.stale_keys_digest, "to": stale_keys_digest}}
        workspace.stale_keys_digest = stale_keys_digest
        workspace.save(update_fields=["stale_keys_digest"])
        audit_event_create(
            action="workspace.settings_changed", workspace=workspace, actor=actor, target=workspace, details=changes
        )
    return workspace


@transaction.atomic
def workspace_update(
    *, workspace: Workspace, actor: Actor, plan: str | None = None, status: str | None = None
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
    audit_event_create(action="workspace.updated", workspace=workspace, actor=actor, target=workspace, details=changes)
    # API keys cache their workspace's plan and status: they must hear of it (SPEC §10).
    workspace_access_changed.send(sender=Workspace, workspace=workspace, phase="in_transaction")
    return workspace

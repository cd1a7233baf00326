"""Reads on accounts: the current workspace of a request, a user's workspaces, a workspace's members."""

from __future__ import annotations

from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.db.models.functions import Coalesce, Lower
from django.http import HttpRequest

from accounts.models import AuditEvent, Membership, Role, User, Workspace
from accounts.signals import workspace_plan_change_warnings

SESSION_WORKSPACE_KEY = "parley_workspace_id"


def user_memberships(user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user, status=Membership.Status.ACTIVE)
        .select_related("workspace")
        .order_by("created_at", "id")
    )


def current_membership(request: HttpRequest) -> Membership | None:
    """The active membership of the session's current workspace (or the user's first one)."""
    user = request.user
    if not user.is_authenticated:
        return None
    cached = getattr(request, "_parley_membership", False)
    if cached is not False:
        return cached  # type: ignore[return-value]  # memoised below
    memberships = user_memberships(user)
    wanted = request.session.get(SESSION_WORKSPACE_KEY)
    membership = memberships.filter(workspace_id=wanted).first() if wanted else None
    membership = membership or memberships.first()
    if membership and request.session.get(SESSION_WORKSPACE_KEY) != membership.workspace_id:
        request.session[SESSION_WORKSPACE_KEY] = membership.workspace_id
    request._parley_membership = membership  # type: ignore[attr-defined]  # per-request memo
    return membership


_MANAGER_ROLE_ORDER = {Role.OWNER: 0, Role.ADMIN: 1}


def workspace_managers(workspace: Workspace) -> list[Membership]:
    """Active owners and admins, owners first: who to ask for what only they may do."""
    memberships = Membership.objects.filter(
        workspace=workspace, status=Membership.Status.ACTIVE, role__in=list(_MANAGER_ROLE_ORDER)
    ).select_related("user")
    return sorted(memberships, key=lambda m: (_MANAGER_ROLE_ORDER[Role(m.role)], m.user.email if m.user else ""))


def workspace_members(*, workspace: Workspace) -> QuerySet[Membership]:
    """Every membership of the workspace (active, invited, suspended): owners first, then by email."""
    return (
        Membership.objects.filter(workspace=workspace)
        .select_related("user", "invited_by")
        .annotate(
            owner_first=Case(When(role=Role.OWNER, then=Value(0)), default=Value(1), output_field=IntegerField()),
            sort_email=Coalesce(Lower("user__email"), Lower("invited_email")),
        )
        .order_by("owner_first", "sort_email", "id")
    )


def workspace_member(*, workspace: Workspace, membership_id: int) -> Membership | None:
    """One membership of the workspace; ``None`` for an unknown id or another workspace's."""
    return Membership.objects.filter(workspace=workspace, pk=membership_id).select_related("workspace", "user").first()


def workspace_audit_events(workspace: Workspace) -> QuerySet[AuditEvent]:
    """The workspace's audit log, newest first."""
    return AuditEvent.objects.filter(workspace=workspace).select_related("actor_user").order_by("-created_at", "-id")


def plan_change_warnings(*, workspace: Workspace, new_plan: str) -> list[str]:
    """What a move to ``new_plan`` would break, as told by the apps above (keys losing scopes)."""
    if new_plan == workspace.plan:
        return []
    responses = workspace_plan_change_warnings.send(sender=Workspace, workspace=workspace, new_plan=new_plan)
    return [warning for _, warnings in responses for warning in warnings or []]

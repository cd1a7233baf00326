"""Reads on accounts: the current workspace of a request, a user's workspaces."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import Membership, User, Workspace

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
    memberships = user_memberships(user)  # type: ignore[arg-type]  # authenticated above
    wanted = request.session.get(SESSION_WORKSPACE_KEY)
    membership = memberships.filter(workspace_id=wanted).first() if wanted else None
    membership = membership or memberships.first()
    if membership and request.session.get(SESSION_WORKSPACE_KEY) != membership.workspace_id:
        request.session[SESSION_WORKSPACE_KEY] = membership.workspace_id
    request._parley_membership = membership  # type: ignore[attr-defined]  # per-request memo
    return membership


def current_workspace(request: HttpRequest) -> Workspace | None:
    membership = current_membership(request)
    return membership.workspace if membership else None

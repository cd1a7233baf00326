from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.oidc import sso_enabled
from accounts.selectors import current_membership, user_memberships


def workspace(request: HttpRequest) -> dict[str, Any]:
    """The current workspace and the user's others, for the navigation bar."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {"sso_enabled": sso_enabled()}
    membership = current_membership(request)
    return {
        "current_membership": membership,
        "current_workspace": membership.workspace if membership else None,
        "sso_enabled": sso_enabled(),
        "user_memberships": lambda: list(user_memberships(request.user)),
    }

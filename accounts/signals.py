"""Hooks: invitations are accepted at login; other apps hear of workspace changes."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from allauth.account.signals import email_confirmed
from django.contrib.auth.signals import user_logged_in
from django.dispatch import Signal, receiver

# Sent inside the writing transaction, with ``workspace=`` and ``phase="in_transaction"``,
# when a workspace's plan or status changes, and just before a workspace is deleted
# (its rows still there). apikeys listens: cached key records carry the plan and
# status, and must not outlive the workspace.
workspace_access_changed = Signal()

# Sent before a plan change is saved, with ``workspace=`` and ``new_plan=``. Each
# receiver returns a list of warnings (strings) the person changing the plan must
# acknowledge: apikeys names the keys that would lose scopes.
workspace_plan_change_warnings = Signal()


def email_is_verified(user: Any) -> bool:
    if getattr(user, "_sso_email_verified", False):
        return True
    return EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists()


@receiver(user_logged_in, dispatch_uid="accounts.accept_invitations_at_login")
def accept_invitations_at_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from accounts.services import membership_accept_invitations

    if email_is_verified(user):
        membership_accept_invitations(user=user)


@receiver(email_confirmed, dispatch_uid="accounts.accept_invitations_on_confirm")
def accept_invitations_on_confirm(sender: Any, request: Any, email_address: Any, **kwargs: Any) -> None:
    from accounts.services import membership_accept_invitations

    user = email_address.user
    if email_address.email.lower() == user.email.lower():
        membership_accept_invitations(user=user)

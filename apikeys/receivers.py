"""apikeys hears of workspace changes through the signals accounts exposes."""

from contextlib import suppress
from typing import Any

from django.db import DatabaseError
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from accounts.permissions import plan_allows_scopes
from accounts.signals import workspace_access_changed, workspace_plan_change_warnings
from apikeys.models import ApiKey
from apikeys.scopes import is_write
from apikeys.services import api_key_invalidate_workspace
from apikeys.tasks import key_care_ensure_scheduled, request_log_care_ensure_scheduled


@receiver(workspace_access_changed, dispatch_uid="apikeys.workspace_access_changed")
def on_workspace_access_changed(sender: Any, workspace: Any, phase: str = "committed", **kwargs: Any) -> None:
    if phase == "in_transaction":
        api_key_invalidate_workspace(workspace=workspace)


@receiver(workspace_plan_change_warnings, dispatch_uid="apikeys.workspace_plan_change_warnings")
def keys_losing_scopes(sender: Any, workspace: Any, new_plan: str, **kwargs: Any) -> list[str]:
    """Active secret keys whose write scopes the new plan refuses: their calls would answer 403."""
    usable = ApiKey.objects.usable().filter(workspace=workspace, kind=ApiKey.Kind.SECRET)
    return [
        f"{key.name} ({key.hint}) loses {', '.join(s for s in key.scopes if is_write(s))}: "
        "calls that need them will answer 403 plan_upgrade_required."
        for key in usable.order_by("name", "pk")
        if not plan_allows_scopes(new_plan, key.scopes)
    ]


@receiver(post_migrate, dispatch_uid="apikeys.post_migrate")
def on_post_migrate(sender: Any, **kwargs: Any) -> None:
    """Every deploy (and ``./dev serve``) migrates: make sure the key care tasks are queued."""
    if getattr(sender, "name", "") != "apikeys":
        return
    with suppress(DatabaseError):  # migrated backwards: the task table is not there
        key_care_ensure_scheduled()
        request_log_care_ensure_scheduled()

"""apikeys hears of workspace changes through the signal accounts exposes."""

from typing import Any

from django.dispatch import receiver

from accounts.signals import workspace_access_changed
from apikeys.services import api_key_invalidate_workspace


@receiver(workspace_access_changed, dispatch_uid="apikeys.workspace_access_changed")
def on_workspace_access_changed(sender: Any, workspace: Any, phase: str = "committed", **kwargs: Any) -> None:
    if phase == "in_transaction":
        api_key_invalidate_workspace(workspace=workspace)

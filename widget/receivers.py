"""Signal receivers of the widget app, connected in ``WidgetConfig.ready``."""

from __future__ import annotations

from typing import Any

from accounts.models import Workspace
from assistants.models import Assistant
from widget.profiles import forget_profiles


def assistant_changed(sender: Any, instance: Assistant, **kwargs: Any) -> None:
    """An assistant saved or deleted: its widget profile is read again on the next request."""
    forget_profiles([instance.public_id])


def workspace_changed(sender: Any, instance: Workspace, **kwargs: Any) -> None:
    """A workspace saved (suspended, say): the profiles of its assistants are read again."""
    forget_profiles(list(Assistant.objects.filter(workspace=instance).values_list("public_id", flat=True)))

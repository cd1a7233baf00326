"""Which assistant the widget demo page (``/widget/demo/``) shows.

A selector of its own (not ``widget/selectors.py``, which holds the API's reads): the demo
shows only what the widget's public config shows, so any widget-enabled assistant of an
active workspace may be picked by id.
"""

from __future__ import annotations

from django.conf import settings

from accounts.models import Workspace
from assistants.models import Assistant


def demo_assistant(*, public_id: str = "") -> Assistant | None:
    """The widget-enabled assistant ``public_id``, else the first of ``WIDGET_DEMO_WORKSPACE``; or ``None``."""
    enabled = Assistant.objects.filter(widget_enabled=True, workspace__status=Workspace.Status.ACTIVE)
    if public_id:
        if len(public_id) > 32 or "\x00" in public_id:  # nobody's id (and PostgreSQL refuses NUL)
            return None
        return enabled.filter(public_id=public_id).first()
    return enabled.filter(workspace__slug=settings.WIDGET_DEMO_WORKSPACE).order_by("created_at", "id").first()


def demo_questions(assistant: Assistant, limit: int = 3) -> list[str]:
    """A few of its FAQ questions, to suggest on the page (the widget's qnas endpoint serves them all)."""
    return list(assistant.faq_entries.values_list("question", flat=True)[:limit])

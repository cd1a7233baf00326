"""Reads: a workspace's subscriptions and its recent catalogue events."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from core.errors import NotFound
from core.models import Event
from webhooks.events import EVENT_TYPES
from webhooks.models import HookSubscription


def hook_list(*, workspace_id: int) -> QuerySet[HookSubscription]:
    """The workspace's live subscriptions (removed ones and those of keys that stopped working are not shown)."""
    return HookSubscription.objects.live().filter(workspace_id=workspace_id)


def hook_get(*, workspace_id: int, public_id: str) -> HookSubscription:
    """A live subscription of this workspace; another workspace's id is ``NotFound`` like an unknown one."""
    hook = hook_list(workspace_id=workspace_id).filter(public_id=public_id).first()
    if hook is None:
        raise NotFound("No such webhook subscription.")
    return hook


def event_list(*, workspace_id: int, type: str | None = None) -> QuerySet[Event]:
    """The workspace's catalogue events (``type`` one of them, or all); the pagination orders newest first."""
    events = Event.objects.filter(workspace_id=workspace_id)
    return events.filter(type=type) if type else events.filter(type__in=list(EVENT_TYPES))


def events_undispatched(*, before: datetime, limit: int = 500) -> list[int]:
    """Outbox events nobody handed on yet (oldest first), created before ``before``."""
    return list(
        Event.objects.filter(dispatched_at__isnull=True, created_at__lt=before)
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:limit]
    )

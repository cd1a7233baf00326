"""webhooks hears of domain events (on commit) and of ``migrate``."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from django.db import DatabaseError
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from core.events import DomainEvent, domain_event
from core.models import Event
from webhooks import tasks


@receiver(domain_event, dispatch_uid="webhooks.domain_event")
def on_domain_event(sender: Any, event: DomainEvent, **kwargs: Any) -> None:
    """Dispatch the event now: deliveries for catalogue events, removals for ``api_key.revoked``.

    If this fails or never runs (a crash right after commit), the sweep dispatches it.
    """
    event_id = Event.objects.filter(public_id=event.id).values_list("pk", flat=True).first()
    if event_id is not None:
        tasks.event_dispatch_and_enqueue(event_id=event_id)
    tasks.sweep_ensure_scheduled()


@receiver(post_migrate, dispatch_uid="webhooks.post_migrate")
def on_post_migrate(sender: Any, **kwargs: Any) -> None:
    """Every deploy (and ``./dev serve``) migrates: make sure the sweep is queued."""
    if getattr(sender, "name", "") != "webhooks":
        return
    with suppress(DatabaseError):  # migrated backwards: the task table is not there
        tasks.sweep_ensure_scheduled()

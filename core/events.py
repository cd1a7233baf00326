"""Domain events: recorded in the transaction of the change, announced once it commits.

Apps emit (``contact.created``, ``ticket.updated``…); webhooks and the request log
connect to ``domain_event``. ``emit`` INSERTs an ``core.models.Event`` row (the
outbox) in the current transaction, so an event exists exactly when its change does:
a rollback removes both, and a relay that missed the signal finds the row later.
Core imports none of the apps: the signal is the hook a lower layer exposes instead
of importing upward (STYLE.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from core.models import Event


@dataclass(frozen=True)
class DomainEvent:
    """Something that happened, as subscribers see it: ``id`` is the outbox row's public
    id (``evt_…``), unique per event, and the same across every delivery of it (SPEC §4
    ``webhook-id``)."""

    id: str
    type: str
    workspace_id: int | None
    data: dict[str, Any]
    occurred_at: datetime
    actor: str = ""  # a label such as "ada@example.com" or "key wsk_live_AbCd…wxyz"


# Sent with ``sender=DomainEvent`` and ``event=<DomainEvent>``; receivers filter on
# ``event.type`` themselves.
domain_event = Signal()


def _as_json(data: dict[str, Any]) -> dict[str, Any]:
    """A deep copy as JSON would store it (datetimes, UUIDs, decimals as strings)."""
    copied = json.loads(json.dumps(dict(data), cls=DjangoJSONEncoder))
    if not isinstance(copied, dict):  # pragma: no cover - dict() above guarantees it
        raise TypeError("event data must be a JSON object")
    return copied


def emit(type: str, *, workspace_id: int | None, data: dict[str, Any], actor: str = "") -> DomainEvent:
    """Record the event in the current transaction and announce it when that commits.

    A rollback removes the row and sends nothing, so no subscriber hears of a change
    that never happened. Outside a transaction the row is written and the event sent
    at once. ``data`` is copied (as JSON), so the writer may keep changing its dict.
    Subscribers are called robustly: one that raises is logged and neither stops the
    others nor fails the request that wrote.
    """
    row = Event.objects.create(type=type, workspace_id=workspace_id, data=_as_json(data), actor=actor)
    event = DomainEvent(
        id=row.public_id,
        type=row.type,
        workspace_id=row.workspace_id,
        data=_as_json(row.data),
        occurred_at=row.created_at,
        actor=row.actor,
    )

    # A named function, not a partial: Django logs a robust callback's failure by
    # its __qualname__, which a partial lacks.
    def send_domain_event() -> None:
        domain_event.send_robust(sender=DomainEvent, event=event)

    transaction.on_commit(send_domain_event, robust=True)
    return event


def events_delete_for_workspace(*, workspace_id: int) -> int:
    """Forget a deleted workspace's events (their data may name people); returns how many."""
    deleted, _ = Event.objects.filter(workspace_id=workspace_id).delete()
    return deleted


def events_prune(*, older_than: timedelta) -> int:
    """Delete events older than ``older_than`` (and what refers to them); returns how many rows went."""
    deleted, _ = Event.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted

"""Domain events, announced once the transaction that made them commits.

Apps emit (``contact.created``, ``ticket.updated``…); webhooks and the request log
connect to ``domain_event``. Core imports none of them: the signal is the hook a
lower layer exposes instead of importing upward (STYLE.md).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.dispatch import Signal


@dataclass(frozen=True)
class DomainEvent:
    """Something that happened, as subscribers see it: ``id`` is unique per event
    and stays the same across every delivery of it (SPEC §4 ``webhook-id``)."""

    id: str
    type: str
    workspace_id: int | None
    data: dict[str, Any]
    occurred_at: datetime
    actor: str = ""  # a label such as "ada@example.com" or "key wsk_live_AbCd…wxyz"


# Sent with ``sender=DomainEvent`` and ``event=<DomainEvent>``; receivers filter on
# ``event.type`` themselves.
domain_event = Signal()


def emit(type: str, *, workspace_id: int | None, data: dict[str, Any], actor: str = "") -> DomainEvent:
    """Build the event now and send it when the current transaction commits.

    A rollback sends nothing, so no subscriber hears of a row that never existed.
    Outside a transaction it is sent at once. ``data`` is copied, so the writer may
    keep changing its dict. Subscribers are called robustly: one that raises is
    logged and neither stops the others nor fails the request that wrote.
    """
    event = DomainEvent(
        id=f"evt_{uuid.uuid4().hex}",
        type=type,
        workspace_id=workspace_id,
        data=dict(data),
        occurred_at=datetime.now(UTC),
        actor=actor,
    )

    # A named function, not a partial: Django logs a robust callback's failure by
    # its __qualname__, which a partial lacks.
    def send_domain_event() -> None:
        domain_event.send_robust(sender=DomainEvent, event=event)

    transaction.on_commit(send_domain_event, robust=True)
    return event

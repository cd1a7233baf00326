"""The public event catalogue and the one shape an event has outside Parley.

Only these types are delivered to webhooks and listed by ``GET /api/v1/events``;
other domain events (``api_key.revoked``…) stay inside. A delivery's body and an
item of the events list are the same object, built here: ``{"id", "type",
"created_at", "data"}``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from core.models import Event

EVENT_TYPES: dict[str, str] = {
    "contact.created": "A contact was added to the CRM.",
    "contact.updated": "A contact's details changed.",
    "ticket.created": "A support ticket was opened.",
    "ticket.updated": "A ticket's status, priority, assignee or details changed.",
    "conversation.started": "A conversation started (widget, SMS, the app or the API).",
    "message.created": "A message was added to a conversation.",
    "lead.captured": "A visitor left their contact details in the widget.",
    "feedback.submitted": "A visitor rated a conversation.",
}

VALID_TYPES_TEXT = ", ".join(EVENT_TYPES)


def unknown_type_message(value: str) -> str:
    return f"Unknown event type {value!r}. Valid types: {VALID_TYPES_TEXT}."


def iso_time(value: datetime) -> str:
    """``2025-01-02T03:04:05.123456Z``: UTC, as the API renders every time."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_payload(event: Event) -> dict[str, Any]:
    """What a subscriber receives and what ``GET /api/v1/events`` lists."""
    return {"id": event.public_id, "type": event.type, "created_at": iso_time(event.created_at), "data": event.data}


def event_body(event: Event) -> bytes:
    """The exact bytes a delivery sends (and signs): compact UTF-8 JSON."""
    return json.dumps(event_payload(event), separators=(",", ":"), ensure_ascii=False).encode()

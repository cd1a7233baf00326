"""The OpenAPI description of ``/api/v1/contacts`` and ``/api/v1/tickets``, in one place.

The serializers here only document: the views answer ``crm.payloads``' dicts, and
``tests/openapi/test_schema.py`` checks that a real payload's keys are exactly these
fields, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from core.openapi import UPDATED_SINCE, error_example, error_response, filter_parameter, path_id
from crm.models import Contact, Source, Ticket
from crm.services import DuplicateContact

CONTACT_EXAMPLE: dict[str, Any] = {
    "id": "ct_8hT3kQ2mZx9vLw4R",
    "email": "ada@example.com",
    "phone": "+14155550123",
    "name": "Ada Lovelace",
    "source": "api",
    "opted_out": False,
    "created_at": "2026-12-01T10:00:00Z",
    "updated_at": "2026-12-01T10:00:00Z",
}
TICKET_EXAMPLE: dict[str, Any] = {
    "id": "tk_Qm4Zp7Lx2Vb9Nc3D",
    "subject": "Refund for order 1042",
    "body": "The parcel arrived damaged.",
    "status": "open",
    "priority": "high",
    "contact": CONTACT_EXAMPLE["id"],
    "source": "api",
    "created_at": "2026-12-01T10:05:00Z",
    "updated_at": "2026-12-01T10:05:00Z",
}


@extend_schema_serializer(
    component_name="Contact",
    examples=[OpenApiExample("contact", value=CONTACT_EXAMPLE, response_only=True)],
)
class ContactSerializer(serializers.Serializer):
    """A CRM contact (``crm.payloads.contact_payload``)."""

    id = serializers.CharField(help_text="ct_…")
    email = serializers.CharField(allow_null=True, help_text="Lower case; unique in the workspace.")
    phone = serializers.CharField(allow_null=True, help_text="E.164; unique in the workspace.")
    name = serializers.CharField(allow_blank=True)
    source = serializers.ChoiceField(  # type: ignore[assignment]  # a field named "source": DRF takes it out of the class
        choices=Source.choices, help_text="Where it came from (set by Parley)."
    )
    opted_out = serializers.BooleanField(help_text="They texted STOP: no SMS is sent to them.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


@extend_schema_serializer(
    component_name="Ticket",
    examples=[OpenApiExample("ticket", value=TICKET_EXAMPLE, response_only=True)],
)
class TicketSerializer(serializers.Serializer):
    """A support ticket (``crm.payloads.ticket_payload``)."""

    id = serializers.CharField(help_text="tk_…")
    subject = serializers.CharField()
    body = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=Ticket.Status.choices)
    priority = serializers.ChoiceField(choices=Ticket.Priority.choices)
    contact = serializers.CharField(allow_null=True, help_text="The contact's id (ct_…), or null.")
    source = serializers.ChoiceField(choices=Source.choices)  # type: ignore[assignment]  # as above
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


CONTACT_ID = path_id("contact_id", "A contact's id.", CONTACT_EXAMPLE["id"])
TICKET_ID = path_id("ticket_id", "A ticket's id.", TICKET_EXAMPLE["id"])

CONTACT_FILTERS = [
    filter_parameter("email", str, "Only the contact with this email (any case)."),
    filter_parameter("phone", str, "Only the contact with this phone number (E.164)."),
    UPDATED_SINCE,
]
TICKET_FILTERS = [
    filter_parameter("status", {"type": "string", "enum": Ticket.Status.values}, "Only tickets in this status."),
    UPDATED_SINCE,
]

DUPLICATE_CONTACT = error_response(
    "Another contact of the workspace has this email or phone: `existing_id` names it.",
    error_example(
        "conflict",
        409,
        DuplicateContact.code,
        DuplicateContact.message,
        existing_id=CONTACT_EXAMPLE["id"],
        hint=DuplicateContact.hint,
    ),
)

CONTACT_INPUT_EXAMPLES = [
    OpenApiExample(
        "new contact",
        value={"email": "ada@example.com", "phone": "+14155550123", "name": "Ada Lovelace"},
        request_only=True,
    ),
]
TICKET_INPUT_EXAMPLES = [
    OpenApiExample(
        "new ticket",
        value={"subject": "Refund for order 1042", "priority": "high", "contact": CONTACT_EXAMPLE["id"]},
        request_only=True,
    ),
]
CONTACT_REQUEST_NOTE = (
    f"Give an `email` or a `phone` (or both) when creating. `name` up to {Contact.MAX_NAME_LENGTH} characters. "
    "Unknown fields (`workspace`, `source`, …) are refused by name."
)

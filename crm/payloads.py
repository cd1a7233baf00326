"""The public shape of a contact and a ticket: what ``/api/v1/`` answers and what events carry."""

from __future__ import annotations

from typing import Any

from core.timefmt import iso
from crm.models import Contact, Ticket


def contact_payload(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.public_id,
        "email": contact.email or None,
        "phone": contact.phone or None,
        "name": contact.name,
        "source": contact.source,
        "opted_out": contact.opted_out,
        "created_at": iso(contact.created_at),
        "updated_at": iso(contact.updated_at),
    }


def ticket_payload(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.public_id,
        "subject": ticket.subject,
        "body": ticket.body,
        "status": ticket.status,
        "priority": ticket.priority,
        "contact": ticket.contact.public_id if ticket.contact else None,
        "source": ticket.source,
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at),
    }

"""Reads on contacts and tickets: always inside one workspace; another's id is simply not found."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from core.errors import NotFound
from crm.models import Contact, Ticket


def contact_list(
    *, workspace_id: int, email: str = "", phone: str = "", updated_since: datetime | None = None
) -> QuerySet[Contact]:
    contacts = Contact.objects.filter(workspace_id=workspace_id)
    if email:
        contacts = contacts.filter(email__iexact=email)
    if phone:
        contacts = contacts.filter(phone=phone)
    if updated_since:
        contacts = contacts.filter(updated_at__gte=updated_since)
    return contacts


def contact_get(*, workspace_id: int, public_id: str) -> Contact:
    contact = Contact.objects.filter(workspace_id=workspace_id, public_id=public_id).first()
    if contact is None:
        raise NotFound("No such contact.", hint="Use an id from GET /api/v1/contacts.")
    return contact


def contact_find(*, workspace_id: int, email: str = "", phone: str = "") -> Contact | None:
    """The contact with this email (any case) or phone, if there is one."""
    if email and (found := Contact.objects.filter(workspace_id=workspace_id, email__iexact=email).first()):
        return found
    if phone:
        return Contact.objects.filter(workspace_id=workspace_id, phone=phone).first()
    return None


def ticket_list(*, workspace_id: int, status: str = "", updated_since: datetime | None = None) -> QuerySet[Ticket]:
    tickets = Ticket.objects.filter(workspace_id=workspace_id).select_related("contact")
    if status:
        tickets = tickets.filter(status=status)
    if updated_since:
        tickets = tickets.filter(updated_at__gte=updated_since)
    return tickets


def ticket_get(*, workspace_id: int, public_id: str) -> Ticket:
    ticket = Ticket.objects.select_related("contact").filter(workspace_id=workspace_id, public_id=public_id).first()
    if ticket is None:
        raise NotFound("No such ticket.", hint="Use an id from GET /api/v1/tickets.")
    return ticket

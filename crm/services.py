"""Writes on contacts and tickets. Each one records its domain event in the same transaction.

Duplicate emails or phones are a 409 ``conflict`` naming the existing contact
(``existing_id``), also when two requests race: the database's unique constraints
decide, and the loser is told which contact won.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from accounts.actors import Actor
from core.errors import Conflict
from core.events import emit
from crm.models import Contact, Source, Ticket
from crm.payloads import contact_payload, ticket_payload
from crm.selectors import contact_find


class DuplicateContact(Conflict):
    message = "A contact with this email or phone already exists."
    hint = "Update the existing contact (existing_id) instead of creating another."


def _raise_if_duplicate(*, workspace_id: int, email: str, phone: str, exclude: int | None = None) -> None:
    for found in (
        contact_find(workspace_id=workspace_id, email=email),
        contact_find(workspace_id=workspace_id, phone=phone),
    ):
        if found is not None and found.pk != exclude:
            raise DuplicateContact(existing_id=found.public_id)


def _save(contact: Contact, *, create: bool) -> None:
    """Save, turning a lost race on the unique constraints into the same 409."""
    try:
        with transaction.atomic():
            contact.save(force_insert=create)
    except IntegrityError:
        _raise_if_duplicate(
            workspace_id=contact.workspace_id, email=contact.email, phone=contact.phone, exclude=contact.pk
        )
        raise


@transaction.atomic
def contact_create(
    *,
    workspace_id: int,
    actor: Actor,
    email: str = "",
    phone: str = "",
    name: str = "",
    opted_out: bool = False,
    source: str = Source.API,
) -> Contact:
    _raise_if_duplicate(workspace_id=workspace_id, email=email, phone=phone)
    contact = Contact(
        workspace_id=workspace_id, email=email, phone=phone, name=name, opted_out=opted_out, source=source
    )
    _save(contact, create=True)
    emit("contact.created", workspace_id=workspace_id, data=contact_payload(contact), actor=actor.label)
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, actor: Actor, **fields: Any) -> Contact:
    """Change the given fields (``email``, ``phone``, ``name``, ``opted_out``)."""
    changed = {name: value for name, value in fields.items() if getattr(contact, name) != value}
    if not changed:
        return contact
    _raise_if_duplicate(
        workspace_id=contact.workspace_id,
        email=changed.get("email", ""),
        phone=changed.get("phone", ""),
        exclude=contact.pk,
    )
    for name, value in changed.items():
        setattr(contact, name, value)
    _save(contact, create=False)
    emit("contact.updated", workspace_id=contact.workspace_id, data=contact_payload(contact), actor=actor.label)
    return contact


@transaction.atomic
def contact_delete(*, contact: Contact, actor: Actor) -> None:
    contact.delete()


@transaction.atomic
def ticket_create(*, workspace_id: int, actor: Actor, source: str = Source.API, **fields: Any) -> Ticket:
    ticket = Ticket.objects.create(workspace_id=workspace_id, source=source, **fields)
    emit("ticket.created", workspace_id=workspace_id, data=ticket_payload(ticket), actor=actor.label)
    return ticket


@transaction.atomic
def ticket_update(*, ticket: Ticket, actor: Actor, **fields: Any) -> Ticket:
    changed = {name: value for name, value in fields.items() if getattr(ticket, name) != value}
    if not changed:
        return ticket
    for name, value in changed.items():
        setattr(ticket, name, value)
    ticket.save()
    emit("ticket.updated", workspace_id=ticket.workspace_id, data=ticket_payload(ticket), actor=actor.label)
    return ticket


@transaction.atomic
def contact_capture(
    *, workspace_id: int, actor: Actor, email: str = "", phone: str = "", name: str = "", source: str
) -> tuple[Contact, bool]:
    """The contact with this email (else this phone), made if there is none; ``(contact, created)``.

    For details a stranger typed (the widget's lead form, an inbound SMS): an existing
    contact only gains what it lacks — a name, or an address no other contact holds —
    and nothing it has is overwritten, so nobody can rename a contact by knowing its email.
    """
    found = contact_find(workspace_id=workspace_id, email=email) or contact_find(workspace_id=workspace_id, phone=phone)
    if found is None:
        try:
            with transaction.atomic():
                return contact_create(
                    workspace_id=workspace_id, actor=actor, email=email, phone=phone, name=name, source=source
                ), True
        except DuplicateContact:  # another request made it first (or the other address is taken)
            found = contact_find(workspace_id=workspace_id, email=email) or contact_find(
                workspace_id=workspace_id, phone=phone
            )
            if found is None:  # pragma: no cover - the duplicate was deleted in between
                raise
    gains: dict[str, str] = {}
    if name and not found.name:
        gains["name"] = name
    if email and not found.email and contact_find(workspace_id=workspace_id, email=email) is None:
        gains["email"] = email
    if phone and not found.phone and contact_find(workspace_id=workspace_id, phone=phone) is None:
        gains["phone"] = phone
    return (contact_update(contact=found, actor=actor, **gains) if gains else found), False

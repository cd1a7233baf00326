"""Support staff's view of the CRM (SPEC §8): contacts and tickets, searchable; support views only.

Contacts and tickets are the customers' data: superusers may correct them, support
staff (the ``Support`` group) only view them, and nobody adds them here — they come
from the API, the widget and SMS, through ``crm.services``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from accounts.actors import Actor
from crm.models import Contact, Ticket
from crm.services import contact_update, ticket_update


class _ReadMostly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(getattr(request.user, "is_superuser", False))


@admin.register(Contact)
class ContactAdmin(_ReadMostly):
    list_display = ["__str__", "email", "phone", "workspace", "source", "opted_out", "created_at"]
    list_filter = ["source", "opted_out"]
    search_fields = ["public_id", "email", "phone", "name", "workspace__name"]
    readonly_fields = ["public_id", "workspace", "source", "created_at", "updated_at"]
    fields = ["public_id", "workspace", "name", "email", "phone", "opted_out", "source", "created_at", "updated_at"]

    def save_model(self, request: HttpRequest, obj: Contact, form: Any, change: bool) -> None:
        """Through the service, like every write: duplicates refused, ``contact.updated`` recorded."""
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        contact_update(contact=Contact.objects.get(pk=obj.pk), actor=Actor.for_request(request), **changes)


@admin.register(Ticket)
class TicketAdmin(_ReadMostly):
    list_display = ["subject", "workspace", "status", "priority", "source", "created_at"]
    list_filter = ["status", "priority", "source"]
    search_fields = ["public_id", "subject", "contact__email", "workspace__name"]
    readonly_fields = ["public_id", "workspace", "contact", "source", "created_at", "updated_at"]
    fields = [
        "public_id",
        "workspace",
        "subject",
        "body",
        "status",
        "priority",
        "contact",
        "source",
        "created_at",
        "updated_at",
    ]

    def save_model(self, request: HttpRequest, obj: Ticket, form: Any, change: bool) -> None:
        """Through the service, like every write: ``ticket.updated`` recorded."""
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        ticket_update(ticket=Ticket.objects.get(pk=obj.pk), actor=Actor.for_request(request), **changes)

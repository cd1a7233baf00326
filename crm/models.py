"""The workspace's small CRM: contacts and support tickets (SPEC §4).

A contact's ``email`` is unique per workspace whatever its case, and so is its
``phone`` (E.164): the widget and SMS find a contact by either. ``source`` says
where a row came from and is set by the server, never by a client.
"""

from __future__ import annotations

from functools import partial

from django.db import models
from django.db.models.functions import Lower

from accounts.models import Workspace
from core.ids import public_id
from core.phones import E164


class Source(models.TextChoices):
    API = "api", "API"
    WIDGET = "widget", "Widget"
    SMS = "sms", "SMS"
    APP = "app", "App"


class Contact(models.Model):
    MAX_NAME_LENGTH = 200

    public_id = models.CharField(max_length=32, unique=True, editable=False, default=partial(public_id, "ct_"))
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="contacts")
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=16, blank=True, validators=[E164])
    name = models.CharField(max_length=MAX_NAME_LENGTH, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.API)
    # SMS opt-out (STOP): no outbound message reaches an opted-out contact.
    opted_out = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                "workspace", Lower("email"), condition=~models.Q(email=""), name="contact_email_unique_ci"
            ),
            models.UniqueConstraint(
                fields=["workspace", "phone"], condition=~models.Q(phone=""), name="contact_phone_unique"
            ),
        ]
        indexes = [models.Index(fields=["workspace", "-created_at"])]

    def __str__(self) -> str:
        return self.name or self.email or self.phone or self.public_id


class Ticket(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PENDING = "pending", "Pending"
        SOLVED = "solved", "Solved"
        CLOSED = "closed", "Closed"

    class Priority(models.TextChoices):
        LOW = "low", "Low"
        NORMAL = "normal", "Normal"
        HIGH = "high", "High"
        URGENT = "urgent", "Urgent"

    MAX_SUBJECT_LENGTH = 200
    MAX_BODY_LENGTH = 10_000

    public_id = models.CharField(max_length=32, unique=True, editable=False, default=partial(public_id, "tk_"))
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="tickets")
    subject = models.CharField(max_length=MAX_SUBJECT_LENGTH)
    body = models.TextField(max_length=MAX_BODY_LENGTH, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.NORMAL)
    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.API)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at"])]

    def __str__(self) -> str:
        return self.subject

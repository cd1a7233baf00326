"""Assistants, who may use a private one, their FAQ, and the conversations they hold.

A conversation is one model for every channel (the app's chats, the widget, SMS,
the public API): later apps add their own fields to it, not their own copies.
Secrets that must be read back (the identity secret that verifies visitors'
HMACs, the Twilio auth token) are stored encrypted (core/crypto.py) and are never
returned by any API or shown by the admin.
"""

from __future__ import annotations

from functools import partial

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from accounts.models import Workspace
from core.ids import public_id
from core.phones import E164

TWILIO_ACCOUNT_SID = RegexValidator(r"^AC[0-9a-fA-F]{32}$", "A Twilio Account SID is AC followed by 32 hex digits.")
TWILIO_SERVICE_SID = RegexValidator(
    r"^MG[0-9a-fA-F]{32}$", "A Twilio Messaging Service SID is MG followed by 32 hex digits."
)


class Assistant(models.Model):
    """An assistant of a workspace. Who sees it: ``assistants/permissions.py``."""

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public (everyone in the workspace, guests included)"
        WORKSPACE = "workspace", "Workspace (members, admins and owners)"
        PRIVATE = "private", "Private (its creator, admins, owners and people granted access)"

    class IdentityVerification(models.TextChoices):
        OFF = "off", "Off"
        OPTIONAL = "optional", "Optional"
        REQUIRED = "required", "Required"

    MAX_NAME_LENGTH = 100
    MAX_TEXT_LENGTH = 1000  # greeting, help text
    MAX_FAQ_ENTRIES = 200

    public_id = models.CharField(max_length=32, unique=True, editable=False, default=partial(public_id, "ast_"))
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="assistants")
    name = models.CharField(max_length=MAX_NAME_LENGTH)
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.WORKSPACE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The widget (SPEC §5)
    widget_enabled = models.BooleanField(default=False)
    allowed_origins = models.JSONField(default=list, blank=True)
    greeting = models.CharField(max_length=MAX_TEXT_LENGTH, blank=True)
    theme = models.JSONField(default=dict, blank=True)
    lead_capture = models.BooleanField(default=False)
    identity_verification = models.CharField(
        max_length=16, choices=IdentityVerification.choices, default=IdentityVerification.OFF
    )
    identity_secret_encrypted = models.TextField(blank=True, editable=False)
    # The secret a rotation replaced, still verifying until ``previous_identity_secret_expires_at``
    # (a rotation's overlap, so no signed-in visitor is turned away meanwhile).
    previous_identity_secret_encrypted = models.TextField(blank=True, editable=False)
    previous_identity_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    help_text = models.CharField(max_length=MAX_TEXT_LENGTH, blank=True)
    # SMS (SPEC §7)
    sms_number = models.CharField(max_length=16, blank=True, validators=[E164])
    twilio_messaging_service_sid = models.CharField(max_length=34, blank=True, validators=[TWILIO_SERVICE_SID])
    twilio_account_sid = models.CharField(max_length=34, blank=True, validators=[TWILIO_ACCOUNT_SID])
    twilio_auth_token_encrypted = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["workspace", "visibility"])]

    def __str__(self) -> str:
        return self.name

    @property
    def has_identity_secret(self) -> bool:
        return bool(self.identity_secret_encrypted)

    @property
    def has_twilio_auth_token(self) -> bool:
        return bool(self.twilio_auth_token_encrypted)


class AssistantGrant(models.Model):
    """Explicit access to a private assistant."""

    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assistant_grants")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["assistant", "user"], name="assistant_grant_unique")]

    def __str__(self) -> str:
        return f"{self.user} → {self.assistant}"


class FaqEntry(models.Model):
    MAX_QUESTION_LENGTH = 500
    MAX_ANSWER_LENGTH = 5000

    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="faq_entries")
    question = models.CharField(max_length=MAX_QUESTION_LENGTH)
    answer = models.TextField(max_length=MAX_ANSWER_LENGTH)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "FAQ entry"
        verbose_name_plural = "FAQ entries"

    def __str__(self) -> str:
        return self.question


class Conversation(models.Model):
    """A conversation with an assistant, on one channel."""

    class Channel(models.TextChoices):
        APP = "app", "App"
        WIDGET = "widget", "Widget"
        SMS = "sms", "SMS"
        API = "api", "API"

    public_id = models.CharField(max_length=32, unique=True, editable=False, default=partial(public_id, "conv_"))
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="conversations")
    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="conversations")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    # Who talks: a member of the workspace (channel app), or a visitor (widget, SMS, API).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="conversations"
    )
    visitor_id = models.CharField(max_length=64, blank=True)
    contact = models.ForeignKey(
        "crm.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="conversations"
    )
    title = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["workspace", "-updated_at"]),
            models.Index(fields=["assistant", "user"]),
        ]

    def __str__(self) -> str:
        return self.title or f"{self.get_channel_display()} conversation {self.public_id}"


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"
        AGENT = "agent", "Agent"

    class DeliveryStatus(models.TextChoices):
        NONE = "", "—"
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        UNDELIVERED = "undelivered", "Undelivered"
        FAILED = "failed", "Failed"
        READ = "read", "Read"

    MAX_BODY_LENGTH = 4000

    public_id = models.CharField(max_length=32, unique=True, editable=False, default=partial(public_id, "msg_"))
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=16, choices=Role.choices)
    body = models.TextField(max_length=MAX_BODY_LENGTH)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    delivery_status = models.CharField(max_length=16, choices=DeliveryStatus.choices, blank=True, default="")
    # Twilio's MessageSid of an SMS, and its ErrorCode when delivery failed.
    external_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    error_code = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["conversation", "created_at"])]

    def __str__(self) -> str:
        return f"{self.role}: {self.body[:60]}"

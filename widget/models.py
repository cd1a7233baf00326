"""The widget's visitors, their session tokens, and the feedback they leave (SPEC §5).

A visitor belongs to one assistant. An anonymous visitor is new with every session;
a verified one (identity verification) is found again by the customer's user id,
so their conversations follow them across devices. A session token (``wst_…``) is
stored as a SHA-256 digest only, like API keys.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import models

from apikeys.models import ApiKey
from assistants.models import Assistant, Conversation, Message
from core.ids import public_id


class Visitor(models.Model):
    MAX_EXTERNAL_ID_LENGTH = 255

    public_id = models.CharField(max_length=32, unique=True, editable=False, default=partial(public_id, "vis_"))
    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="visitors")
    # The customer's user id, vouched for by their server (a JWT's ``sub`` or the HMAC's ``user_id``).
    external_id = models.CharField(max_length=MAX_EXTERNAL_ID_LENGTH, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["assistant", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="visitor_external_id_unique",
            )
        ]

    def __str__(self) -> str:
        return self.public_id + (f" ({self.external_id})" if self.external_id else "")

    @property
    def verified(self) -> bool:
        return self.external_id is not None


class VisitorSession(models.Model):
    """A visitor token: one assistant, one visitor, one conversation."""

    digest = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=24, editable=False)
    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="+")
    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="sessions")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    # The publishable key the session was started with, if any: its state and origins keep applying.
    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # Written at most every WIDGET_SESSION_TOUCH_SECONDS, not on every request.
    last_seen_at = models.DateTimeField()
    absolute_expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["absolute_expires_at"])]

    def __str__(self) -> str:
        return self.hint

    def expires_at(self) -> datetime:
        """When the token expires if unused: the sooner of the idle timeout and the absolute cap."""
        idle = self.last_seen_at + timedelta(seconds=settings.WIDGET_SESSION_IDLE_SECONDS)
        return min(idle, self.absolute_expires_at)


class Feedback(models.Model):
    class Rating(models.TextChoices):
        UP = "up", "👍 Up"
        DOWN = "down", "👎 Down"

    MAX_COMMENT_LENGTH = 1000

    public_id = models.CharField(max_length=32, unique=True, editable=False, default=partial(public_id, "fb_"))
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="feedback")
    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="feedback")
    message = models.ForeignKey(Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="feedback")
    rating = models.CharField(max_length=8, choices=Rating.choices)
    comment = models.TextField(max_length=MAX_COMMENT_LENGTH, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "feedback"

    def __str__(self) -> str:
        return f"{self.get_rating_display()} on {self.conversation.public_id}"

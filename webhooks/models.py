"""Webhook subscriptions and their deliveries (one per subscription and event).

A subscription is made with an API key (``POST /api/v1/hooks``) and lives while that
key does: revoking or expiring the key removes it. "Removed" keeps the row, with
``disabled_at`` and the reason, for support staff's history; it is gone from the API,
gets nothing more, and its secrets are wiped. The signing secret is stored encrypted
(core/crypto.py) and never shown again after the answer that created (or rolled) it;
during a roll's overlap the secret it replaced is kept, encrypted, until it expires.
"""

from __future__ import annotations

from functools import partial

from django.db import models

from accounts.models import Workspace
from apikeys.models import ApiKey
from core.ids import public_id
from core.models import Event


class HookSubscriptionQuerySet(models.QuerySet["HookSubscription"]):
    def live(self) -> HookSubscriptionQuerySet:
        """Not removed, and made by a key that still works (or by no key)."""
        return self.filter(disabled_at__isnull=True).filter(
            models.Q(created_by_key__isnull=True) | models.Q(created_by_key__in=ApiKey.objects.usable().values("pk"))
        )


class HookSubscription(models.Model):
    class Removed(models.TextChoices):
        DELETED = "deleted", "Deleted through the API"
        GONE = "gone", "The target answered 410 Gone"
        KEY_REVOKED = "key_revoked", "The API key that made it was revoked"
        KEY_EXPIRED = "key_expired", "The API key that made it expired"
        DISABLED_FAILING = "disabled_failing", "Its deliveries kept failing"

    MAX_TARGET_URL_LENGTH = 2000
    MAX_PER_WORKSPACE = 100

    public_id = models.CharField(max_length=32, unique=True, editable=False, default=partial(public_id, "hook_"))
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="hook_subscriptions")
    event = models.CharField(max_length=Event.MAX_TYPE_LENGTH)  # one of webhooks.events.EVENT_TYPES
    target_url = models.CharField(max_length=MAX_TARGET_URL_LENGTH)
    secret_encrypted = models.TextField(blank=True, editable=False)
    # The secret a roll replaced: deliveries are signed with it too until it expires (the overlap).
    previous_secret_encrypted = models.TextField(blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The key it was made with: the subscription lives while the key does.
    created_by_key = models.ForeignKey(
        ApiKey, on_delete=models.CASCADE, null=True, blank=True, related_name="hook_subscriptions"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=20, choices=Removed.choices, blank=True)
    # Failed attempts in a row, and when the first of them happened (reset by a success):
    # 5 days of it (or WEBHOOK_DISABLE_AFTER_FAILURES attempts) disable the subscription.
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    # The sequence number of its latest delivery (``webhook-sequence``): one more per delivery.
    last_sequence = models.PositiveBigIntegerField(default=0, editable=False)

    objects = HookSubscriptionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["workspace", "event"], name="webhooks_hook_ws_event"),
            models.Index(fields=["workspace", "-created_at"], name="webhooks_hook_ws_created"),
        ]
        verbose_name = "webhook subscription"

    def __str__(self) -> str:
        return f"{self.event} → {self.target_url}"

    @property
    def is_removed(self) -> bool:
        return self.disabled_at is not None


class Delivery(models.Model):
    """One event for one subscription, with its attempts.

    While pending, ``next_attempt_at`` is when the next attempt is due; an attempt in
    flight holds a lease by moving it ``services.attempt_lease()`` ahead, so a worker killed
    mid-attempt leaves a pending delivery that the sweep finds once the lease ran out.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed (no retries left)"
        GONE = "gone", "Gone (the subscription was removed)"

    MAX_ERROR_LENGTH = 500

    subscription = models.ForeignKey(HookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="webhook_deliveries")
    # Per subscription, increasing: assigned when the delivery is made, sent as ``webhook-sequence``.
    sequence = models.PositiveBigIntegerField(null=True, blank=True)
    # A re-send of the event (the admin's "Re-send", POST /api/v1/hooks/{id}/replay): not the one dispatch made.
    is_replay = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=MAX_ERROR_LENGTH, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event"], name="webhooks_delivery_once", condition=models.Q(is_replay=False)
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhooks_delivery_due",
                condition=models.Q(status="pending"),
            ),
        ]
        permissions = [("retry_delivery", "Can retry webhook deliveries")]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.event.type} {self.event.public_id} → {self.subscription.target_url}"

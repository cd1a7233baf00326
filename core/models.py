"""The event outbox: every domain event is a row, written in the transaction of the change it describes.

``core.events.emit`` inserts the row; receivers of ``core.events.domain_event`` hear of it
after commit. Whoever relays events onwards (webhooks) sets ``dispatched_at`` once it has
handed an event to its subscribers, so a relay that missed the signal (a crash between
commit and the receiver, a worker that was down) finds what is left to do: the outbox
makes delivery at-least-once. ``workspace_id`` is a plain number: core imports no app.
"""

from __future__ import annotations

from functools import partial

from django.db import models

from core.ids import public_id


class Event(models.Model):
    MAX_TYPE_LENGTH = 64

    public_id = models.CharField(max_length=32, unique=True, editable=False, default=partial(public_id, "evt_"))
    workspace_id = models.BigIntegerField(null=True, blank=True)
    type = models.CharField(max_length=MAX_TYPE_LENGTH)
    data = models.JSONField(default=dict)
    # Who caused it, as a label ("ada@example.com", "API key wsk_live_AbCd…wxyz"); may be empty.
    actor = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set by the relay (webhooks) once it has handed the event to its subscribers.
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["workspace_id", "-created_at"], name="core_event_ws_created"),
            models.Index(
                fields=["created_at"], name="core_event_undispatched", condition=models.Q(dispatched_at__isnull=True)
            ),
            models.Index(fields=["created_at"], name="core_event_created"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.public_id}"

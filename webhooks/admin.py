"""Support staff's view of webhooks (SPEC §8): subscriptions and deliveries, read-only.

Nobody adds or edits a subscription here (the SSRF check and the key that owns it
belong to the API); the signing secret is never shown. Deliveries show their attempts,
last status and last error; "Retry now" puts pending and failed ones back in line,
through ``webhooks.tasks.deliveries_retry_now`` (the service, then the queue).
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from accounts.actors import Actor
from core.admin_base import ReadOnlyAdmin
from core.errors import ServiceError
from webhooks.events import event_payload
from webhooks.models import Delivery, HookSubscription
from webhooks.tasks import deliveries_retry_now, event_replay_and_enqueue

RETRY_PERMISSION = "webhooks.retry_delivery"


@admin.register(HookSubscription)
class HookSubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "workspace", "event", "target_url", "state", "created_at"]
    list_filter = ["event", "disabled_reason"]
    list_select_related = ["workspace"]
    search_fields = ["public_id", "target_url", "workspace__name", "workspace__slug"]
    search_help_text = "Subscription id (hook_…), target URL or workspace."
    fields = readonly_fields = (
        "public_id",
        "workspace",
        "event",
        "target_url",
        "created_by_key",
        "created_at",
        "disabled_at",
        "disabled_reason",
        "deliveries_link",
    )

    @admin.display(description="State")
    def state(self, obj: HookSubscription) -> str:
        return f"removed: {obj.get_disabled_reason_display()}" if obj.is_removed else "live"

    @admin.display(description="Deliveries")
    def deliveries_link(self, obj: HookSubscription) -> str:
        url = reverse("admin:webhooks_delivery_changelist") + f"?subscription__id__exact={obj.pk}"
        return format_html('<a href="{}">{} deliveries</a>', url, obj.deliveries.count())


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "event_id",
        "event_type",
        "target",
        "status",
        "sequence",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "short_error",
        "created_at",
    ]
    list_filter = ["status", "event__type"]
    list_select_related = ["event", "subscription__workspace"]
    search_fields = ["event__public_id", "subscription__public_id", "subscription__target_url"]
    search_help_text = "Event id (evt_…), subscription id (hook_…) or target URL."
    actions = ["retry_now", "resend"]
    fields = readonly_fields = (
        "subscription",
        "workspace",
        "sequence",
        "is_replay",
        "status",
        "attempts",
        "next_attempt_at",
        "last_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
        "finished_at",
        "body",
    )

    @admin.display(description="Event", ordering="event__public_id")
    def event_id(self, obj: Delivery) -> str:
        return obj.event.public_id

    @admin.display(description="Type", ordering="event__type")
    def event_type(self, obj: Delivery) -> str:
        return obj.event.type

    @admin.display(description="Target")
    def target(self, obj: Delivery) -> str:
        return Truncator(obj.subscription.target_url).chars(60)

    @admin.display(description="Workspace")
    def workspace(self, obj: Delivery) -> Any:
        return obj.subscription.workspace

    @admin.display(description="Last error")
    def short_error(self, obj: Delivery) -> str:
        return Truncator(obj.last_error).chars(80)

    @admin.display(description="Body sent (signed)")
    def body(self, obj: Delivery) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event_payload(obj.event), indent=2, ensure_ascii=False))

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(RETRY_PERMISSION)

    @admin.action(description="Retry now", permissions=["retry"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        selected = list(queryset.values_list("pk", flat=True))
        queued = deliveries_retry_now(delivery_ids=selected, actor=Actor.for_request(request))
        if queued:
            self.message_user(request, f"Queued {queued} deliveries to be attempted now.", messages.SUCCESS)
        skipped = len(selected) - queued
        if skipped:
            self.message_user(
                request,
                f"Skipped {skipped}: only pending and failed deliveries of live subscriptions are retried.",
                messages.INFO,
            )

    @admin.action(description="Re-send the event (a new delivery)", permissions=["retry"])
    def resend(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        actor = Actor.for_request(request)
        queued, skipped = 0, 0
        for delivery in queryset.select_related("subscription", "event"):
            try:
                event_replay_and_enqueue(hook=delivery.subscription, event_id=delivery.event.public_id, actor=actor)
                queued += 1
            except ServiceError:  # a removed subscription, an event gone
                skipped += 1
        if queued:
            self.message_user(request, f"Queued {queued} new deliveries of the selected events.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"Skipped {skipped}: only live subscriptions get events again.", messages.INFO)

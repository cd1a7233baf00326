"""The public API of webhooks (``/api/v1/``): subscriptions and recent events (SPEC §4).

``GET/POST /api/v1/hooks``, ``DELETE /api/v1/hooks/{id}``, ``POST /api/v1/hooks/{id}/roll-secret``
``POST /api/v1/hooks/{id}/replay`` and ``GET /api/v1/events``,
all with the ``events:read`` scope (a read scope: the free plan may subscribe). An
event listed here is exactly the body a delivery of it carries.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Workspace
from apikeys.api import ApiV1View
from apikeys.services import ROLL_GRACE_CHOICES
from core.errors import InvalidInput
from core.openapi import LIST_PARAMETERS, page_of, path_id
from core.pagination import paginated
from core.serializers import StrictSerializer
from webhooks.events import EVENT_TYPES, event_payload, iso_time, unknown_type_message
from webhooks.models import HookSubscription
from webhooks.selectors import event_list, hook_get, hook_list
from webhooks.services import hook_create, hook_delete, hook_secret_roll
from webhooks.tasks import event_replay_and_enqueue

SCOPE = "events:read"


@extend_schema_field({"type": "string", "enum": list(EVENT_TYPES)})
class EventTypeField(serializers.CharField):
    """An event type; the document lists them (an unknown one is a 400 listing the valid ones)."""


class HookInput(StrictSerializer):
    target_url = serializers.CharField(
        max_length=HookSubscription.MAX_TARGET_URL_LENGTH,
        help_text="An http(s) URL on the public internet (loopback, private and link-local addresses are refused).",
    )
    event = EventTypeField(max_length=64)

    def validate_event(self, value: str) -> str:
        if value not in EVENT_TYPES:
            raise serializers.ValidationError(unknown_type_message(value))
        return value


class HookOutput(serializers.Serializer):
    id = serializers.CharField()
    target_url = serializers.CharField()
    event = serializers.CharField()
    created_at = serializers.DateTimeField()


class HookCreatedOutput(HookOutput):
    secret = serializers.CharField(help_text="whsec_…: shown once, in this answer only.")


class HookSecretRollInput(StrictSerializer):
    previous_valid_for = serializers.ChoiceField(
        choices=list(ROLL_GRACE_CHOICES),
        default="now",
        help_text="How long deliveries are also signed with the secret this roll replaces (default `now`: not at all).",
    )


class HookSecretRolledOutput(HookCreatedOutput):
    previous_secret_valid_until = serializers.DateTimeField(
        allow_null=True,
        help_text="Until when deliveries also carry a signature made with the replaced secret; null: they do not.",
    )


class HookReplayInput(StrictSerializer):
    event_id = serializers.CharField(max_length=64, help_text="The event to send again (`evt_…`, of the last 30 days).")


class HookReplayOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="The new delivery's id.")
    hook_id = serializers.CharField()
    event_id = serializers.CharField()
    sequence = serializers.IntegerField(help_text="Its `webhook-sequence`: higher than every earlier delivery's.")
    status = serializers.CharField(help_text="`pending`: the worker sends it now, retrying as usual.")


class EventOutput(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.CharField()
    created_at = serializers.DateTimeField()
    data = serializers.JSONField()  # type: ignore[assignment]  # a declared field named like Serializer.data


def hook_data(hook: HookSubscription) -> dict[str, Any]:
    """A subscription as the API shows it: never its secret."""
    return {
        "id": hook.public_id,
        "target_url": hook.target_url,
        "event": hook.event,
        "created_at": iso_time(hook.created_at),
    }


class HookListApi(ApiV1View):
    required_scopes = {"GET": SCOPE, "POST": SCOPE}

    @extend_schema(
        operation_id="list_hooks",
        summary="List webhook subscriptions",
        parameters=LIST_PARAMETERS,
        responses=page_of(HookOutput),
    )
    def get(self, request: Request) -> Response:
        return paginated(hook_list(workspace_id=self.key.workspace_id), hook_data, request=request, view=self)

    @extend_schema(
        operation_id="create_hook",
        summary="Subscribe a URL to an event",
        description="Answers the signing secret (`whsec_…`) once; deliveries are signed the Standard Webhooks way.",
        request=HookInput,
        responses={201: HookCreatedOutput},
    )
    def post(self, request: Request) -> Response:
        data = HookInput(data=request.data)
        data.is_valid(raise_exception=True)
        key = self.key
        hook, secret = hook_create(
            workspace=Workspace.objects.get(pk=key.workspace_id),
            actor=self.actor,
            key_id=key.id,
            target_url=data.validated_data["target_url"],
            event=data.validated_data["event"],
        )
        response = Response({**hook_data(hook), "secret": secret}, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response


class HookDetailApi(ApiV1View):
    required_scopes = {"DELETE": SCOPE}

    @extend_schema(
        operation_id="delete_hook",
        summary="Unsubscribe",
        parameters=[path_id("hook_id", "A subscription id.", "hook_8hT3kQ2mZx9vLw4R")],
        responses={204: OpenApiResponse(description="Deleted.")},
    )
    def delete(self, request: Request, hook_id: str) -> Response:
        key = self.key
        hook = hook_get(workspace_id=key.workspace_id, public_id=hook_id)
        hook_delete(hook=hook, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class HookSecretRollApi(ApiV1View):
    required_scopes = {"POST": SCOPE}

    @extend_schema(
        operation_id="roll_hook_secret",
        summary="Roll a subscription's signing secret",
        description=(
            "Answers the new signing secret (`whsec_…`) once. With `previous_valid_for` (`1h`, `24h`, `7d`), "
            "every delivery until then carries two Standard Webhooks signatures in `webhook-signature`, "
            "space-separated (`v1,<new> v1,<old>`): a receiver verifying with either secret accepts it, so it can "
            "switch to the new secret without missing an event. With `now` (the default) the old secret stops at "
            "once. Rolling again during an overlap ends the older secret's overlap."
        ),
        parameters=[path_id("hook_id", "A subscription id.", "hook_8hT3kQ2mZx9vLw4R")],
        request=HookSecretRollInput,
        responses={200: HookSecretRolledOutput},
    )
    def post(self, request: Request, hook_id: str) -> Response:
        data = HookSecretRollInput(data=request.data)
        data.is_valid(raise_exception=True)
        hook = hook_get(workspace_id=self.key.workspace_id, public_id=hook_id)
        hook, secret = hook_secret_roll(
            hook=hook,
            actor=self.actor,
            previous_valid_for=ROLL_GRACE_CHOICES[data.validated_data["previous_valid_for"]],
        )
        until = hook.previous_secret_expires_at
        response = Response(
            {**hook_data(hook), "secret": secret, "previous_secret_valid_until": iso_time(until) if until else None}
        )
        response["Cache-Control"] = "no-store"
        return response


class HookReplayApi(ApiV1View):
    required_scopes = {"POST": SCOPE}

    @extend_schema(
        operation_id="replay_hook_event",
        summary="Send an event to a subscription again",
        description=(
            "Queues a new delivery of the event to this subscription, signed as usual, with the same "
            "`webhook-id` (the event id: a receiver that already handled it can ignore it) and the next "
            "`webhook-sequence`. The event must be of this workspace, of the last 30 days and of the "
            "subscription's type; another workspace's event or subscription is 404 like an unknown one."
        ),
        parameters=[path_id("hook_id", "A subscription id.", "hook_8hT3kQ2mZx9vLw4R")],
        request=HookReplayInput,
        responses={202: HookReplayOutput},
    )
    def post(self, request: Request, hook_id: str) -> Response:
        hook = hook_get(workspace_id=self.key.workspace_id, public_id=hook_id)  # 404 before the body is read
        data = HookReplayInput(data=request.data)
        data.is_valid(raise_exception=True)
        delivery = event_replay_and_enqueue(hook=hook, event_id=data.validated_data["event_id"], actor=self.actor)
        return Response(
            {
                "id": delivery.pk,
                "hook_id": hook.public_id,
                "event_id": delivery.event.public_id,
                "sequence": delivery.sequence,
                "status": delivery.status,
            },
            status=status.HTTP_202_ACCEPTED,
        )


class EventListApi(ApiV1View):
    """Recent events, newest first: what Zapier polls, and its samples."""

    required_scopes = {"GET": SCOPE}

    @extend_schema(
        operation_id="list_events",
        summary="List recent events",
        description="Newest first, the last 30 days: each exactly the body a webhook delivery carries.",
        parameters=[
            *LIST_PARAMETERS,
            OpenApiParameter("type", str, enum=list(EVENT_TYPES), description="Only events of this type."),
        ],
        responses=page_of(EventOutput),
    )
    def get(self, request: Request) -> Response:
        type_ = request.query_params.get("type")
        if type_ is not None and type_ not in EVENT_TYPES:
            raise InvalidInput({"type": [unknown_type_message(type_)]})
        events = event_list(workspace_id=self.key.workspace_id, type=type_)
        return paginated(events, event_payload, request=request, view=self)

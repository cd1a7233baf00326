"""The OpenAPI description of ``/api/v1/assistants`` and ``/api/v1/conversations``, in one place.

The serializers here only document: the views answer ``assistants.payloads``' dicts, and
``tests/openapi/test_schema.py`` checks that a real payload's keys are exactly these
fields, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from assistants.models import Assistant, Conversation, Message
from assistants.services import ContactOptedOut, NoPhoneToText
from core.openapi import UPDATED_SINCE, error_example, error_response, filter_parameter, path_id

ASSISTANT_EXAMPLE: dict[str, Any] = {
    "id": "ast_Vb9Nc3DQm4Zp7Lx2",
    "name": "Help center",
    "visibility": "public",
    "widget_enabled": True,
    "created_at": "2026-11-20T09:00:00Z",
}
CONVERSATION_EXAMPLE: dict[str, Any] = {
    "id": "conv_Zp7Lx2Vb9Nc3DQm4",
    "assistant": ASSISTANT_EXAMPLE["id"],
    "channel": "sms",
    "contact": "ct_8hT3kQ2mZx9vLw4R",
    "visitor_id": None,
    "created_at": "2026-12-01T10:00:00Z",
    "updated_at": "2026-12-01T10:07:00Z",
}
MESSAGE_EXAMPLE: dict[str, Any] = {
    "id": "msg_Lx2Vb9Nc3DQm4Zp7",
    "conversation": CONVERSATION_EXAMPLE["id"],
    "role": "agent",
    "body": "Your refund is on its way.",
    "delivery_status": "queued",
    "created_at": "2026-12-01T10:07:00Z",
}
DELIVERY_STATUSES = [value for value in Message.DeliveryStatus.values if value]


@extend_schema_serializer(
    component_name="Assistant",
    examples=[OpenApiExample("assistant", value=ASSISTANT_EXAMPLE, response_only=True)],
)
class AssistantSerializer(serializers.Serializer):
    """An assistant (``assistants.payloads.assistant_payload``)."""

    id = serializers.CharField(help_text="ast_…")
    name = serializers.CharField()
    visibility = serializers.ChoiceField(choices=Assistant.Visibility.choices)
    widget_enabled = serializers.BooleanField()
    created_at = serializers.DateTimeField()


@extend_schema_serializer(
    component_name="Conversation",
    examples=[OpenApiExample("conversation", value=CONVERSATION_EXAMPLE, response_only=True)],
)
class ConversationSerializer(serializers.Serializer):
    """A conversation on any channel (``assistants.payloads.conversation_payload``)."""

    id = serializers.CharField(help_text="conv_…")
    assistant = serializers.CharField(help_text="The assistant's id (ast_…).")
    channel = serializers.ChoiceField(choices=Conversation.Channel.choices)
    contact = serializers.CharField(allow_null=True, help_text="The CRM contact's id (ct_…), or null.")
    visitor_id = serializers.CharField(allow_null=True, help_text="The widget visitor's id, or null.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


@extend_schema_serializer(
    component_name="Message",
    examples=[OpenApiExample("message", value=MESSAGE_EXAMPLE, response_only=True)],
)
class MessageSerializer(serializers.Serializer):
    """One message of a conversation (``assistants.payloads.message_payload``)."""

    id = serializers.CharField(help_text="msg_…")
    conversation = serializers.CharField(help_text="The conversation's id (conv_…).")
    role = serializers.ChoiceField(choices=Message.Role.choices)
    body = serializers.CharField(allow_blank=True)
    delivery_status = serializers.ChoiceField(
        choices=DELIVERY_STATUSES, allow_null=True, help_text="SMS messages only (Twilio's status); null otherwise."
    )
    created_at = serializers.DateTimeField()


CONVERSATION_ID = path_id("conversation_id", "A conversation's id.", CONVERSATION_EXAMPLE["id"])
CONVERSATION_FILTERS = [
    filter_parameter("assistant", str, "Only conversations of this assistant (its id, ast_…)."),
    filter_parameter(
        "channel", {"type": "string", "enum": Conversation.Channel.values}, "Only conversations on this channel."
    ),
    UPDATED_SINCE,
]
AGENT_REPLY_REFUSED = error_response(
    "An SMS conversation whose contact opted out (texted STOP) or has no phone number.",
    error_example("opted_out", 409, ContactOptedOut.code, ContactOptedOut.message, hint=ContactOptedOut.hint),
    error_example("no_phone", 409, NoPhoneToText.code, NoPhoneToText.message),
)
AGENT_REPLY_EXAMPLES = [
    OpenApiExample("agent reply", value={"body": "Your refund is on its way."}, request_only=True),
]


COMPLETION_EXAMPLE: dict[str, Any] = {
    "id": "msg_Qm4Zp7Lx2Vb9Nc3D",
    "conversation_id": "conv_Nc3DQm4Zp7Lx2Vb9",
    "message": {
        "role": "assistant",
        "content": "Reply to your order email within 30 days of delivery.",
        "created_at": "2026-12-01T10:00:01Z",
    },
}


@extend_schema_serializer(component_name="CompletionMessage")
class CompletionMessageSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=["assistant"])
    content = serializers.CharField()
    created_at = serializers.DateTimeField()


@extend_schema_serializer(
    component_name="Completion",
    examples=[OpenApiExample("completion", value=COMPLETION_EXAMPLE, response_only=True)],
)
class CompletionSerializer(serializers.Serializer):
    """The assistant's answer (``assistants.payloads.completion_payload``)."""

    id = serializers.CharField(help_text="The reply's message id (msg_…).")
    conversation_id = serializers.CharField(help_text="Send it with the next turns to continue (conv_…).")
    message = CompletionMessageSerializer()


ASSISTANT_ID = path_id("assistant_id", "An assistant's id.", ASSISTANT_EXAMPLE["id"])
COMPLETION_REQUEST_EXAMPLES = [
    OpenApiExample(
        "a question",
        value={"messages": [{"role": "user", "content": "How do I get a refund?"}]},
        request_only=True,
    ),
    OpenApiExample(
        "continuing",
        value={
            "messages": [{"role": "user", "content": "And for orders shipped abroad?"}],
            "conversation_id": COMPLETION_EXAMPLE["conversation_id"],
        },
        request_only=True,
    ),
]

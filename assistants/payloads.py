"""The public shape of assistants, conversations and messages on ``/api/v1/`` and in events."""

from __future__ import annotations

from typing import Any

from assistants.models import Assistant, Conversation, Message
from core.timefmt import iso


def assistant_payload(assistant: Assistant) -> dict[str, Any]:
    return {
        "id": assistant.public_id,
        "name": assistant.name,
        "visibility": assistant.visibility,
        "widget_enabled": assistant.widget_enabled,
        "created_at": iso(assistant.created_at),
    }


def conversation_payload(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.public_id,
        "assistant": conversation.assistant.public_id,
        "channel": conversation.channel,
        "contact": conversation.contact.public_id if conversation.contact else None,
        "visitor_id": conversation.visitor_id or None,
        "created_at": iso(conversation.created_at),
        "updated_at": iso(conversation.updated_at),
    }


def message_payload(message: Message) -> dict[str, Any]:
    return {
        "id": message.public_id,
        "conversation": message.conversation.public_id,
        "role": message.role,
        "body": message.body,
        "delivery_status": message.delivery_status or None,
        "created_at": iso(message.created_at),
    }


def completion_payload(conversation: Conversation, reply: Message) -> dict[str, Any]:
    return {
        "id": reply.public_id,
        "conversation_id": conversation.public_id,
        "message": {"role": reply.role, "content": reply.body, "created_at": iso(reply.created_at)},
    }

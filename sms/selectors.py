"""Reads for the SMS webhooks: the assistant a URL names, and what a MessageSid was already answered."""

from __future__ import annotations

from dataclasses import dataclass

from assistants.models import Assistant, Message
from core.errors import NotFound


@dataclass(frozen=True)
class SmsAnswer:
    """What an inbound text got: the stored message and the reply sent back (``None``: nothing)."""

    message: Message
    reply: str | None
    duplicate: bool = False  # a retry of a MessageSid already stored: nothing new was written


def sms_assistant_get(*, public_id: str) -> Assistant:
    """The assistant whose webhook URL this is; ``NotFound`` when there is none (no token to check against)."""
    if "\x00" in public_id:  # PostgreSQL refuses NUL in text
        raise NotFound("No such assistant.")
    assistant = Assistant.objects.select_related("workspace").filter(public_id=public_id).first()
    if assistant is None:
        raise NotFound("No such assistant.", hint="Use the webhook URL shown in the assistant's settings.")
    return assistant


def sms_stored_answer(*, assistant: Assistant, message_sid: str) -> SmsAnswer | None:
    """The answer already given to the text ``message_sid``, if it was stored (a retried webhook).

    The reply is the assistant's message that follows the text in its conversation,
    before the texter's next one (an agent's message in between is not it): the
    texter's messages are stored one at a time, their contact row locked (see
    ``sms.services``), so a text and its reply are never interleaved with another text.
    """
    inbound = (
        Message.objects.select_related("conversation")
        .filter(external_id=message_sid, role=Message.Role.USER, conversation__assistant=assistant)
        .first()
    )
    if inbound is None:
        return None
    following = (
        Message.objects.filter(
            conversation_id=inbound.conversation_id,
            pk__gt=inbound.pk,
            role__in=[Message.Role.USER, Message.Role.ASSISTANT],
        )
        .order_by("pk")
        .first()
    )
    reply = following.body if following is not None and following.role == Message.Role.ASSISTANT else None
    return SmsAnswer(message=inbound, reply=reply, duplicate=True)

"""Reads for the widget endpoints: a session by its token, a visitor's conversation history."""

from __future__ import annotations

from assistants.models import Conversation, Message
from core.errors import Forbidden
from widget import tokens
from widget.models import VisitorSession

MAX_HISTORY = 200
ACCESS_DENIED = "Access denied to this conversation"


def visitor_session_lookup(token: str) -> VisitorSession | None:
    """The session of ``token`` (one indexed query with what the checks need), or ``None``."""
    return (
        VisitorSession.objects.select_related("assistant__workspace", "visitor", "conversation", "api_key")
        .filter(digest=tokens.digest(token))
        .first()
    )


def visitor_conversation(session: VisitorSession, public_id: str = "") -> Conversation:
    """The session's conversation, or another of the same visitor with this assistant.

    Any other id is a 403 "Access denied to this conversation": another visitor's
    conversation, another assistant's or workspace's, and an id that is no conversation
    at all answer exactly alike, so the answer never tells whether an id exists.
    """
    if not public_id or public_id == session.conversation.public_id:
        return session.conversation
    conversation = Conversation.objects.filter(
        public_id=public_id, assistant_id=session.assistant_id, visitor_id=session.visitor.public_id
    ).first()
    if conversation is None:
        raise Forbidden(ACCESS_DENIED)
    return conversation


def visitor_history(conversation: Conversation) -> list[Message]:
    """The conversation's latest ``MAX_HISTORY`` messages, oldest first."""
    latest = list(conversation.messages.order_by("-created_at", "-id")[:MAX_HISTORY])
    return latest[::-1]


def latest_visitor_conversation(*, assistant_id: int, visitor_id: str) -> Conversation | None:
    return (
        Conversation.objects.filter(
            assistant_id=assistant_id, visitor_id=visitor_id, channel=Conversation.Channel.WIDGET
        )
        .order_by("-updated_at", "-id")
        .first()
    )

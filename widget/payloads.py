"""What the widget endpoints answer, and what the widget's events carry. Public data only."""

from __future__ import annotations

from typing import Any

from assistants.models import FaqEntry, Message
from core.timefmt import iso
from widget.models import Feedback, VisitorSession
from widget.profiles import WidgetProfile


def config_payload(profile: WidgetProfile) -> dict[str, Any]:
    color = profile.theme.get("color")
    return {
        "assistant_id": profile.public_id,
        "name": profile.name,
        "greeting": profile.greeting,
        "theme": {"color": color} if isinstance(color, str) else {},
        "lead_capture": profile.lead_capture,
        "identity_verification": profile.identity_verification,
    }


def session_payload(session: VisitorSession, plain: str) -> dict[str, Any]:
    return {
        "session_token": plain,
        "expires_at": iso(session.expires_at()),
        "visitor_id": session.visitor.public_id,
        "conversation_id": session.conversation.public_id,
        "verified": session.visitor.verified,
    }


def widget_message_payload(message: Message) -> dict[str, Any]:
    return {"id": message.public_id, "role": message.role, "body": message.body, "created_at": iso(message.created_at)}


def feedback_payload(feedback: Feedback) -> dict[str, Any]:
    return {
        "id": feedback.public_id,
        "rating": feedback.rating,
        "comment": feedback.comment,
        "conversation": feedback.conversation.public_id,
        "message_id": feedback.message.public_id if feedback.message else None,
        "visitor_id": feedback.visitor.public_id,
        "created_at": iso(feedback.created_at),
    }


def qna_payload(entry: FaqEntry) -> dict[str, Any]:
    return {"question": entry.question, "answer": entry.answer}

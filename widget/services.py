"""Writes of the widget endpoints: sessions, visitors' messages, leads, feedback and tickets (SPEC §5).

A visitor acts as ``Actor.for_visitor``; every write records its domain event in
the same transaction (``conversation.started``, ``message.created``,
``lead.captured``, ``feedback.submitted``, ``contact.*``, ``ticket.created``).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.actors import Actor
from assistants.models import Conversation, Message
from assistants.services import conversation_assistant_reply, conversation_start, conversation_visitor_message
from core.errors import InvalidInput
from core.events import emit
from crm.models import Contact, Source, Ticket
from crm.payloads import contact_payload
from crm.services import contact_capture, ticket_create
from widget import tokens
from widget.models import Feedback, Visitor, VisitorSession
from widget.payloads import feedback_payload
from widget.profiles import WidgetProfile
from widget.selectors import latest_visitor_conversation


def _visitor(assistant_pk: int, external_id: str | None) -> Visitor:
    """A new anonymous visitor, or the one this verified user id already is (also under a race)."""
    if external_id is None:
        return Visitor.objects.create(assistant_id=assistant_pk)
    try:
        with transaction.atomic():
            return Visitor.objects.get_or_create(assistant_id=assistant_pk, external_id=external_id)[0]
    except IntegrityError:  # a concurrent first session of the same user made it
        return Visitor.objects.get(assistant_id=assistant_pk, external_id=external_id)


@transaction.atomic
def visitor_session_start(
    *, profile: WidgetProfile, ip: str, external_id: str | None = None, api_key_id: int | None = None
) -> tuple[VisitorSession, str]:
    """A session token for a visitor: ``(session, plain token)``, the token shown this once.

    A verified visitor continues their latest conversation with the assistant (from
    any device); an anonymous one starts a new visitor and conversation.
    """
    visitor = _visitor(profile.assistant_pk, external_id)
    actor = Actor.for_visitor(visitor_id=visitor.public_id, ip=ip)
    conversation = None
    if visitor.verified:
        conversation = latest_visitor_conversation(assistant_id=profile.assistant_pk, visitor_id=visitor.public_id)
    if conversation is None:
        conversation = conversation_start(
            assistant=visitor.assistant,
            actor=actor,
            channel=Conversation.Channel.WIDGET,
            visitor_id=visitor.public_id,
        )
    plain = tokens.generate()
    now = timezone.now()
    session = VisitorSession.objects.create(
        digest=tokens.digest(plain),
        hint=tokens.hint(plain),
        assistant_id=profile.assistant_pk,
        visitor=visitor,
        conversation=conversation,
        api_key_id=api_key_id,
        last_seen_at=now,
        absolute_expires_at=now + timedelta(seconds=settings.WIDGET_SESSION_MAX_SECONDS),
    )
    return session, plain


def visitor_session_touch(session: VisitorSession) -> None:
    """Move the idle mark forward, at most once per ``WIDGET_SESSION_TOUCH_SECONDS`` (not a write a request)."""
    now = timezone.now()
    threshold = now - timedelta(seconds=settings.WIDGET_SESSION_TOUCH_SECONDS)
    if session.last_seen_at > threshold:
        return
    VisitorSession.objects.filter(pk=session.pk, last_seen_at__lte=threshold).update(last_seen_at=now)
    session.last_seen_at = now


def _actor(session: VisitorSession, ip: str) -> Actor:
    return Actor.for_visitor(visitor_id=session.visitor.public_id, ip=ip)


@transaction.atomic
def visitor_chat(*, session: VisitorSession, ip: str, text: str) -> tuple[Message, Message]:
    """The visitor's message in the session's conversation and the assistant's reply."""
    conversation = session.conversation
    message = conversation_visitor_message(conversation=conversation, actor=_actor(session, ip), body=text)
    return message, conversation_assistant_reply(conversation=conversation, text=text)


@transaction.atomic
def visitor_lead_capture(*, session: VisitorSession, ip: str, email: str, phone: str, name: str) -> Contact:
    """Find or make the contact (an existing one only gains what it lacks), link it to the conversation."""
    actor = _actor(session, ip)
    conversation = session.conversation
    contact, _created = contact_capture(
        workspace_id=conversation.workspace_id, actor=actor, email=email, phone=phone, name=name, source=Source.WIDGET
    )
    if conversation.contact_id != contact.pk:
        conversation.contact = contact
        conversation.save(update_fields=["contact", "updated_at"])
    emit(
        "lead.captured",
        workspace_id=conversation.workspace_id,
        data={  # the contact itself, and where it was captured (flat: what no-code tools map best)
            **contact_payload(contact),
            "conversation": conversation.public_id,
            "assistant": session.assistant.public_id,
            "visitor_id": session.visitor.public_id,
        },
        actor=actor.label,
    )
    return contact


@transaction.atomic
def visitor_feedback_submit(
    *, session: VisitorSession, ip: str, rating: str, comment: str = "", message_id: str = ""
) -> Feedback:
    conversation = session.conversation
    message = None
    if message_id:
        message = conversation.messages.filter(public_id=message_id).first()
        if message is None:
            raise InvalidInput({"message_id": ["No such message in this conversation."]})
    feedback = Feedback.objects.create(
        conversation=conversation, visitor=session.visitor, message=message, rating=rating, comment=comment
    )
    emit(
        "feedback.submitted",
        workspace_id=conversation.workspace_id,
        data=feedback_payload(feedback),
        actor=_actor(session, ip).label,
    )
    return feedback


@transaction.atomic
def visitor_ticket_create(*, profile: WidgetProfile, ip: str, email: str, subject: str, message: str) -> Ticket:
    """A support ticket from the widget's form, with the contact of ``email`` (made if new)."""
    actor = Actor.for_visitor(visitor_id=email, ip=ip)  # no session: the visitor is who they say they are
    contact, _created = contact_capture(
        workspace_id=profile.workspace_id, actor=actor, email=email, source=Source.WIDGET
    )
    return ticket_create(
        workspace_id=profile.workspace_id,
        actor=actor,
        source=Source.WIDGET,
        subject=subject,
        body=message,
        contact=contact,
    )


def visitor_sessions_prune() -> int:
    """Delete the sessions whose tokens can no longer be used (idle or past the cap); returns how many."""
    now = timezone.now()
    idle = now - timedelta(seconds=settings.WIDGET_SESSION_IDLE_SECONDS)
    deleted, _ = VisitorSession.objects.filter(Q(absolute_expires_at__lte=now) | Q(last_seen_at__lte=idle)).delete()
    return deleted

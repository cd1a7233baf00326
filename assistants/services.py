"""Writes on assistants, their grants and secrets, and on chats; each one audited.

Rules come from ``assistants/permissions.py``; a refusal is a ``ServiceError``. The
identity secret and the Twilio auth token are encrypted before they are stored,
returned in plain exactly once (the identity secret, when made) and never logged.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import Membership, User, Workspace
from accounts.services import audit_event_create
from assistants import permissions
from assistants.models import Assistant, AssistantGrant, Conversation, FaqEntry, Message
from assistants.payloads import conversation_payload, message_payload
from assistants.responders import get_responder
from assistants.sms_out import send_sms
from core.crypto import encrypt
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.events import emit
from crm.models import Contact

MANAGERS_ONLY = "Only workspace owners and admins can change assistants."
IDENTITY_SECRET_MANAGERS_ONLY = "Only workspace owners and admins can make an identity secret."  # noqa: S105  # a message
IDENTITY_SECRET_BYTES = 32
# Fields the audit log names when they change (values of secrets are never recorded).
_SECRET_FIELDS = {"twilio_auth_token"}


def _user(actor: Actor) -> User:
    if actor.user is None:
        raise Forbidden("Only people signed in to the workspace can do this.")
    return actor.user


def _audit(action: str, assistant: Assistant, actor: Actor, **details: Any) -> None:
    audit_event_create(action=action, workspace=assistant.workspace, actor=actor, target=assistant, details=details)


def _apply(assistant: Assistant, fields: dict[str, Any]) -> list[str]:
    """Set the given fields; returns the names of those that changed."""
    changed = []
    faq = fields.pop("faq", None)
    if "twilio_auth_token" in fields:
        assistant.twilio_auth_token_encrypted = encrypt(fields.pop("twilio_auth_token") or "")
        changed.append("twilio_auth_token")
    for name, value in fields.items():
        if getattr(assistant, name) != value:
            setattr(assistant, name, value)
            changed.append(name)
    if (
        assistant.identity_verification != Assistant.IdentityVerification.OFF
        and not assistant.identity_secret_encrypted
        and "identity_verification" in changed
    ):
        raise InvalidInput(
            {"identity_verification": ["Make the identity secret first: POST /api/assistants/{id}/identity-secret."]}
        )
    assistant.save()
    if faq is not None:
        assistant.faq_entries.all().delete()
        FaqEntry.objects.bulk_create(
            FaqEntry(assistant=assistant, question=e["question"], answer=e["answer"], position=i)
            for i, e in enumerate(faq)
        )
        changed.append("faq")
    return changed


@transaction.atomic
def assistant_create(*, workspace: Workspace, actor: Actor, **fields: Any) -> Assistant:
    """A new assistant (admins and owners); ``fields`` as the in-app API validated them."""
    user = _user(actor)
    if not permissions.may_create_assistants(user, workspace):
        raise Forbidden(MANAGERS_ONLY)
    assistant = Assistant(workspace=workspace, created_by=user)
    _apply(assistant, dict(fields))
    _audit("assistant.created", assistant, actor, visibility=assistant.visibility)
    return assistant


@transaction.atomic
def assistant_update(*, assistant: Assistant, actor: Actor, **fields: Any) -> Assistant:
    if not permissions.may_manage(_user(actor), assistant):
        raise Forbidden(MANAGERS_ONLY)
    changed = _apply(assistant, dict(fields))
    if changed:
        _audit("assistant.updated", assistant, actor, changed=sorted(changed))
    return assistant


@transaction.atomic
def assistant_delete(*, assistant: Assistant, actor: Actor) -> None:
    if not permissions.may_manage(_user(actor), assistant):
        raise Forbidden(MANAGERS_ONLY)
    _audit("assistant.deleted", assistant, actor, name=assistant.name, id=assistant.public_id)
    assistant.delete()


@transaction.atomic
def assistant_identity_secret_rotate(
    *, assistant: Assistant, actor: Actor, previous_valid_for: timedelta = timedelta(0)
) -> str:
    """Make a new identity secret; returns it in plain, the only time it is ever shown.

    The secret it replaces keeps verifying ``user_hash`` and ``user_token`` for
    ``previous_valid_for`` (none by default: it stops at once), so visitors signed with
    it are not turned away while the customer's servers switch. Only the secret just
    replaced overlaps: rotating again during an overlap ends the older one.
    """
    if not permissions.may_manage(_user(actor), assistant):
        raise Forbidden(IDENTITY_SECRET_MANAGERS_ONLY)
    # The stored secret, read under the row's lock: two rotations at once chain, neither is lost.
    replaced = (
        Assistant.objects.select_for_update()
        .filter(pk=assistant.pk)
        .values_list("identity_secret_encrypted", flat=True)
        .get()
    )
    secret = secrets.token_urlsafe(IDENTITY_SECRET_BYTES)
    until = timezone.now() + previous_valid_for if previous_valid_for and replaced else None
    assistant.previous_identity_secret_encrypted = replaced if until else ""
    assistant.previous_identity_secret_expires_at = until
    assistant.identity_secret_encrypted = encrypt(secret)
    assistant.save(
        update_fields=[
            "identity_secret_encrypted",
            "previous_identity_secret_encrypted",
            "previous_identity_secret_expires_at",
            "updated_at",
        ]
    )
    _audit(
        "assistant.identity_secret_rotated",
        assistant,
        actor,
        previous_valid_until=until.isoformat() if until else None,
    )
    return secret


def _changed_columns(assistant: Assistant) -> set[str]:
    """The editable fields of ``assistant`` that differ from its stored row."""
    stored = Assistant.objects.get(pk=assistant.pk)
    fields = (f for f in Assistant._meta.concrete_fields if f.editable)
    return {f.name for f in fields if getattr(stored, f.attname) != getattr(assistant, f.attname)}


@transaction.atomic
def assistant_admin_save(
    *,
    assistant: Assistant,
    actor: Actor,
    created: bool = False,
    faq_changed: bool = False,
    twilio_auth_token: str = "",
    identity_secret: str = "",
) -> Assistant:
    """Save what a superuser set in the admin console, audited like the in-app API's writes.

    The admin's form has validated the settings and set them on ``assistant`` (the
    FAQ inline is saved already: ``faq_changed`` says whether it changed). What
    changed is read against the stored row, not from what the browser claims. A
    secret typed in is encrypted here; a blank one keeps the stored value (the form
    never shows it, so blank means "untouched"). The event names fields, never values.
    """
    if not permissions.may_change_in_admin(actor.user):
        raise Forbidden("Only superusers change assistants in the admin console.")
    names = set() if created else _changed_columns(assistant)
    if faq_changed:
        names.add("faq")
    if twilio_auth_token:
        assistant.twilio_auth_token_encrypted = encrypt(twilio_auth_token)
        names.add("twilio_auth_token")
    if identity_secret:
        assistant.identity_secret_encrypted = encrypt(identity_secret)
        # A secret typed in replaces the stored one at once: no overlap is left running.
        assistant.previous_identity_secret_encrypted, assistant.previous_identity_secret_expires_at = "", None
        names.add("identity_secret")
    assistant.save()
    if created:
        _audit("assistant.created", assistant, actor, visibility=assistant.visibility, via="admin")
    elif names:
        _audit("assistant.updated", assistant, actor, changed=sorted(names), via="admin")
    return assistant


@transaction.atomic
def assistant_admin_delete(*, assistant: Assistant, actor: Actor) -> None:
    """A superuser's delete in the admin console, audited like ``assistant_delete``."""
    if not permissions.may_change_in_admin(actor.user):
        raise Forbidden("Only superusers delete assistants in the admin console.")
    _audit("assistant.deleted", assistant, actor, name=assistant.name, id=assistant.public_id, via="admin")
    assistant.delete()


def _require_grant_manager(actor: Actor, assistant: Assistant) -> None:
    if not permissions.may_manage_grants(_user(actor), assistant):
        raise Forbidden("Only workspace owners and admins, or the creator of a private assistant, manage access.")


@transaction.atomic
def assistant_grant_add(*, assistant: Assistant, actor: Actor, user_id: int) -> AssistantGrant:
    """Give an active member of the workspace access to a private assistant (idempotent)."""
    _require_grant_manager(actor, assistant)
    if assistant.visibility != Assistant.Visibility.PRIVATE:
        raise InvalidInput(
            {"user_id": ["Grants apply to private assistants only: everyone it is visible to can already use it."]}
        )
    member = Membership.objects.filter(
        workspace=assistant.workspace, user_id=user_id, status=Membership.Status.ACTIVE
    ).first()
    if member is None or member.user is None:
        raise InvalidInput({"user_id": ["Not an active member of this workspace: invite them first."]})
    grant, created = AssistantGrant.objects.get_or_create(
        assistant=assistant, user=member.user, defaults={"granted_by": actor.user}
    )
    if created:
        _audit("assistant.grant_added", assistant, actor, user=member.user.email)
    return grant


@transaction.atomic
def assistant_grant_remove(*, assistant: Assistant, actor: Actor, user_id: int) -> None:
    """Take access away (idempotent: removing a grant that is not there changes nothing)."""
    _require_grant_manager(actor, assistant)
    grant = AssistantGrant.objects.select_related("user").filter(assistant=assistant, user_id=user_id).first()
    if grant is not None:
        _audit("assistant.grant_removed", assistant, actor, user=grant.user.email)
        grant.delete()


def _message(conversation: Conversation, actor: Actor, **fields: Any) -> Message:
    """Store a message and record ``message.created`` in the same transaction."""
    message = Message.objects.create(conversation=conversation, **fields)
    emit("message.created", workspace_id=conversation.workspace_id, data=message_payload(message), actor=actor.label)
    return message


def _reply(conversation: Conversation, text: str, body: str | None = None) -> Message:
    """The assistant's answer to ``text``: ``body`` when given, else the responder's."""
    if body is None:
        body = get_responder().reply(assistant=conversation.assistant, conversation=conversation, text=text)
    assistant_actor = Actor.system(f"Assistant {conversation.assistant.name}")
    return _message(conversation, assistant_actor, role=Message.Role.ASSISTANT, body=body)


def _conversation_create(actor: Actor, **fields: Any) -> Conversation:
    """Store a conversation and record ``conversation.started`` in the same transaction."""
    conversation = Conversation.objects.create(**fields)
    emit(
        "conversation.started",
        workspace_id=conversation.workspace_id,
        data=conversation_payload(conversation),
        actor=actor.label,
    )
    return conversation


@transaction.atomic
def chat_start(*, assistant: Assistant, actor: Actor, title: str = "") -> Conversation:
    """A member's chat with an assistant they may use (channel ``app``)."""
    user = _user(actor)
    if not permissions.may_see(user, assistant):
        raise NotFound("No such assistant.")
    if not permissions.may_use(user, assistant):
        raise Forbidden("Guests can read chats but not start them.")
    return _conversation_create(
        actor,
        workspace=assistant.workspace,
        assistant=assistant,
        channel=Conversation.Channel.APP,
        user=user,
        title=title,
    )


@transaction.atomic
def conversation_start(
    *, assistant: Assistant, actor: Actor, channel: str, contact: Contact | None = None, visitor_id: str = ""
) -> Conversation:
    """A visitor's conversation (widget, SMS or API channel: the app's chats are ``chat_start``'s)."""
    if channel == Conversation.Channel.APP:
        raise InvalidInput({"channel": ["Members start app chats with chat_start."]})
    return _conversation_create(
        actor,
        workspace=assistant.workspace,
        assistant=assistant,
        channel=channel,
        contact=contact,
        visitor_id=visitor_id,
    )


@transaction.atomic
def conversation_visitor_message(
    *, conversation: Conversation, actor: Actor, body: str, external_id: str | None = None
) -> Message:
    """A visitor's message in a conversation, recorded as ``message.created``.

    ``external_id`` (Twilio's ``MessageSid`` for a text) is unique: storing one twice
    raises ``IntegrityError``, the database's answer to a retried webhook, even a
    concurrent one. Callers that expect it run this inside their own transaction.
    """
    message = _message(conversation, actor, role=Message.Role.USER, body=body, external_id=external_id)
    conversation.save(update_fields=["updated_at"])
    return message


@transaction.atomic
def conversation_assistant_reply(
    *, conversation: Conversation, text: str, body: str | None = None, max_length: int | None = None
) -> Message:
    """The assistant's reply to a visitor's ``text``: ``body`` when the caller decides it (an SMS
    keyword's fixed answer), else the responder's (``ASSISTANT_RESPONDER``).

    ``max_length`` is the channel's limit (an SMS: 1,600 characters): a longer answer is
    cut there, ending with "…", and stored as sent.
    """
    if body is None:
        body = get_responder().reply(assistant=conversation.assistant, conversation=conversation, text=text)
    if max_length is not None and len(body) > max_length:
        body = body[: max_length - 1].rstrip() + "…"
    reply = _reply(conversation, text, body)
    conversation.save(update_fields=["updated_at"])
    return reply


@transaction.atomic
def chat_post_message(*, conversation: Conversation, actor: Actor, body: str) -> tuple[Message, Message]:
    """Store the member's message and the assistant's reply; returns both."""
    user = _user(actor)
    if not permissions.may_post_in_chat(user, conversation):
        raise Forbidden("Only the member whose chat it is can write in it.")
    message = _message(conversation, actor, role=Message.Role.USER, body=body, author=user)
    reply = _reply(conversation, body)
    conversation.save(update_fields=["updated_at"])
    return message, reply


@transaction.atomic
def assistant_completion(
    *, assistant: Assistant, actor: Actor, turns: list[str], conversation: Conversation | None = None
) -> tuple[Conversation, Message]:
    """A server's question to an assistant (``POST /api/v1/assistants/{id}/completions``).

    Stores the new user turns in ``conversation`` (a new one on channel ``api`` when
    ``None``) and the responder's reply to the last of them; returns both.
    """
    if conversation is None:
        conversation = conversation_start(assistant=assistant, actor=actor, channel=Conversation.Channel.API)
    for turn in turns:
        _message(conversation, actor, role=Message.Role.USER, body=turn)
    return conversation, conversation_assistant_reply(conversation=conversation, text=turns[-1])


class NoPhoneToText(Conflict):
    message = "This SMS conversation has no phone number to text."


class ContactOptedOut(Conflict):
    message = "This contact has opted out of SMS (they texted STOP): no message can be sent to them."
    hint = "They can opt back in by texting START to the assistant's number."


def conversation_agent_reply(*, conversation: Conversation, actor: Actor, body: str, status_callback: str) -> Message:
    """A human agent's reply: shown in the conversation's history, and texted on an SMS conversation.

    The message is stored (committed) first, then sent: a Twilio failure leaves it
    with ``delivery_status`` failed and Twilio's error code, never lost.
    """
    with transaction.atomic():
        contact = conversation.contact
        sms = conversation.channel == Conversation.Channel.SMS
        if sms and (contact is None or not contact.phone):
            raise NoPhoneToText
        if sms and contact is not None and contact.opted_out:
            raise ContactOptedOut
        message = _message(
            conversation,
            actor,
            role=Message.Role.AGENT,
            body=body,
            delivery_status=Message.DeliveryStatus.QUEUED if sms else Message.DeliveryStatus.NONE,
        )
        conversation.save(update_fields=["updated_at"])
    if sms and contact is not None:
        sid, status, error_code = send_sms(
            assistant=conversation.assistant, to=contact.phone, body=body, status_callback=status_callback
        )
        message.external_id, message.delivery_status, message.error_code = sid or None, status, error_code
        message.save(update_fields=["external_id", "delivery_status", "error_code"])
    return message

"""What a text to an assistant does, and what Twilio's delivery reports change (SPEC §7).

A text (``sms_receive``) comes from a phone: the workspace's contact with that
number (made, source ``sms``, the first time), in that contact's latest SMS
conversation with the assistant (one is started the first time). The text is
stored once per ``MessageSid``, then answered:

- an opt-out keyword (``STOP``…) opts the contact out and answers nothing (carriers
  send their own confirmation); nothing is texted to them afterwards;
- an opt-in keyword (``START``…) opts them back in, with a short confirmation;
- while opted out, nothing else is answered;
- ``HELP``/``INFO`` answers the assistant's help text;
- anything else, the responder's answer (``ASSISTANT_RESPONDER``), cut at 1,600 characters.

Keywords are matched as carriers match them: the whole message, whatever its case
and whitespace. The reply is stored too, so a retried webhook gets the same answer.

Status callbacks (``sms_status_update``) move a sent message's ``delivery_status``
forward only: queued < sending < sent < delivered | undelivered | failed < read.
"""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction

from accounts.actors import Actor
from assistants.models import Assistant, Conversation, Message
from assistants.services import conversation_assistant_reply, conversation_start, conversation_visitor_message
from core.errors import Conflict
from crm.models import Contact, Source
from crm.services import contact_capture, contact_update
from sms.selectors import SmsAnswer, sms_stored_answer

OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"})
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})
_NOT_PART_OF_A_KEYWORD = re.compile(r"[\s.!]+")
SMS_MAX_LENGTH = 1600  # Twilio's limit for one message's body; a longer reply is cut there

Status = Message.DeliveryStatus
# How far along a sent message is: a status only ever replaces one of a lower rank.
STATUS_RANK: dict[str, int] = {
    Status.NONE: 0,
    Status.QUEUED: 1,
    Status.SENDING: 2,
    Status.SENT: 3,
    Status.DELIVERED: 4,
    Status.UNDELIVERED: 4,
    Status.FAILED: 4,
    Status.READ: 5,
}
FAILED_STATUSES = frozenset({Status.UNDELIVERED, Status.FAILED})


class DuplicateMessageSid(Conflict):
    message = "This MessageSid is already another message's: nothing was stored."


def keyword(body: str) -> str:
    """The message as a carrier reads a keyword: upper case, no whitespace, no trailing ``.``/``!``."""
    return _NOT_PART_OF_A_KEYWORD.sub("", body).upper()


def opt_in_reply(assistant: Assistant) -> str:
    return f"You're subscribed to {assistant.name} again. Reply HELP for help, STOP to opt out."


def help_reply(assistant: Assistant) -> str:
    """The assistant's help text, or a default that names it and the keywords."""
    return assistant.help_text or (
        f"{assistant.name}: text us your question and we'll answer. Reply STOP to opt out, START to opt back in."
    )


def _contact(*, assistant: Assistant, phone: str, actor: Actor) -> Contact:
    """The workspace's contact with this phone, made the first time; locked until the transaction ends.

    The lock makes one texter's messages wait for each other: a text and its reply
    are stored before the next text, and two first texts start one conversation.
    """
    contact, _created = contact_capture(
        workspace_id=assistant.workspace_id, actor=actor, phone=phone, source=Source.SMS
    )
    return Contact.objects.select_for_update().get(pk=contact.pk)


def _conversation(*, assistant: Assistant, contact: Contact, actor: Actor) -> Conversation:
    """The contact's latest SMS conversation with the assistant, else a new one (``conversation.started``)."""
    conversation = (
        Conversation.objects.filter(assistant=assistant, contact=contact, channel=Conversation.Channel.SMS)
        .order_by("-created_at", "-pk")
        .first()
    )
    if conversation is None:
        conversation = conversation_start(
            assistant=assistant, actor=actor, channel=Conversation.Channel.SMS, contact=contact
        )
    return conversation


@transaction.atomic
def _receive(*, assistant: Assistant, actor: Actor, message_sid: str, phone: str, body: str) -> SmsAnswer:
    contact = _contact(assistant=assistant, phone=phone, actor=actor)
    conversation = _conversation(assistant=assistant, contact=contact, actor=actor)
    # Raises IntegrityError when this MessageSid is stored already (a concurrent retry won).
    message = conversation_visitor_message(conversation=conversation, actor=actor, body=body, external_id=message_sid)
    word = keyword(body)
    if word in OPT_OUT_KEYWORDS:
        contact_update(contact=contact, actor=actor, opted_out=True)
        return SmsAnswer(message=message, reply=None)
    fixed: str | None = None  # None: the responder answers
    if word in OPT_IN_KEYWORDS:
        contact_update(contact=contact, actor=actor, opted_out=False)
        fixed = opt_in_reply(assistant)
    elif contact.opted_out:
        return SmsAnswer(message=message, reply=None)
    elif word in HELP_KEYWORDS:
        fixed = help_reply(assistant)
    reply = conversation_assistant_reply(conversation=conversation, text=body, body=fixed, max_length=SMS_MAX_LENGTH)
    return SmsAnswer(message=message, reply=reply.body or None)


def sms_receive(*, assistant: Assistant, actor: Actor, message_sid: str, phone: str, body: str) -> SmsAnswer:
    """Store the text ``message_sid`` from ``phone`` and its reply, once; returns the answer to give Twilio.

    A retry of a stored ``MessageSid`` stores nothing and gets the stored answer. Two
    concurrent retries are decided by the unique ``Message.external_id``: the loser's
    INSERT fails (on PostgreSQL once the winner commits), its whole transaction is
    rolled back, and it answers what the winner stored. So this function is not itself
    atomic: the transaction that may fail is ``_receive``'s, and the answer is read after it.
    """
    stored = sms_stored_answer(assistant=assistant, message_sid=message_sid)
    if stored is not None:
        return stored
    try:
        return _receive(assistant=assistant, actor=actor, message_sid=message_sid, phone=phone, body=body)
    except IntegrityError:
        stored = sms_stored_answer(assistant=assistant, message_sid=message_sid)
        if stored is not None:
            return stored
        if Message.objects.filter(external_id=message_sid).exists():
            raise DuplicateMessageSid from None  # another assistant's text, or a message we sent
        raise


@transaction.atomic
def sms_status_update(
    *, assistant: Assistant, actor: Actor, message_sid: str, status: str, error_code: str = ""
) -> Message | None:
    """Move the assistant's sent message ``message_sid`` forward to ``status``; never back.

    ``failed`` and ``undelivered`` keep Twilio's ``ErrorCode``. Returns the message
    (changed or not), or ``None`` for a sid that is not one of the assistant's sent
    messages, or a status Parley does not track (``accepted``, ``scheduled``,
    ``canceled``…): the callback is acknowledged and ignored. One conditional UPDATE,
    so two callbacks racing cannot move a message back either. ``actor`` is Twilio; a
    delivery change records no event (the event catalogue has none for it).
    """
    sent = Message.objects.filter(
        external_id=message_sid,
        conversation__assistant=assistant,
        role__in=[Message.Role.AGENT, Message.Role.ASSISTANT],
    )
    message = sent.first()
    if message is None or status not in STATUS_RANK or status == Status.NONE:
        return None
    earlier = [name for name, rank in STATUS_RANK.items() if rank < STATUS_RANK[status]]
    changes = {"delivery_status": status}
    if status in FAILED_STATUSES:
        changes["error_code"] = error_code
    if Message.objects.filter(pk=message.pk, delivery_status__in=earlier).update(**changes):
        message.refresh_from_db(fields=["delivery_status", "error_code"])
    return message

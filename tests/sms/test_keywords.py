"""STOP, START and HELP, as carriers read them (SPEC §7): the whole message, whatever its case and whitespace."""

from __future__ import annotations

import itertools

import pytest
from rest_framework.test import APIClient

from assistants.models import Conversation, Message
from core.models import Event
from crm.models import Contact
from sms.services import HELP_KEYWORDS, OPT_IN_KEYWORDS, OPT_OUT_KEYWORDS, keyword
from tests import factories
from tests.sms import twilio
from tests.sms.twilio import post_fixture

pytestmark = pytest.mark.django_db
XML = '<?xml version="1.0" encoding="UTF-8"?>'
EMPTY = f"{XML}<Response />"
OPTED_IN = "You're subscribed to Help center again. Reply HELP for help, STOP to opt out."
_sid = itertools.count(1)


def text(client, assistant, body: str):
    return post_fixture(client, "inbound_sms", assistant, Body=body, MessageSid=f"SM{next(_sid):032x}")


def said(reply: str) -> str:
    return f"{XML}<Response><Message>{reply}</Message></Response>"


def contact() -> Contact:
    return Contact.objects.get(phone=twilio.TEXTER)


def spellings(word: str) -> list[str]:
    return [word, word.lower(), word.capitalize(), f"  {word.lower()}\n", f"\t{word}. ", f"{word}!"]


def test_the_keyword_lists_are_the_carriers():
    assert {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"} <= OPT_OUT_KEYWORDS
    assert {"START", "UNSTOP", "YES"} == OPT_IN_KEYWORDS
    assert {"HELP", "INFO"} == HELP_KEYWORDS
    assert keyword(" Stop All ") == keyword("stopall") == "STOPALL"
    assert keyword("Opt out") == "OPTOUT"


@pytest.mark.parametrize("word", sorted(OPT_OUT_KEYWORDS))
def test_every_opt_out_keyword_opts_out_silently(client, sms_assistant, word):
    for body in spellings(word):
        Contact.objects.filter(phone=twilio.TEXTER).update(opted_out=False)
        response = text(client, sms_assistant, body)
        assert response.status_code == 200
        assert response.content.decode() == EMPTY, body  # carriers send their own confirmation
        assert contact().opted_out, body
    stored = Message.objects.filter(role="user").order_by("pk")
    assert [m.body for m in stored] == spellings(word)  # each text is kept
    assert not Message.objects.filter(role="assistant").exists()
    assert Event.objects.filter(type="contact.updated", data__opted_out=True).count() == len(spellings(word))


@pytest.mark.parametrize("word", sorted(OPT_IN_KEYWORDS))
def test_every_opt_in_keyword_opts_back_in_with_a_confirmation(client, sms_assistant, word):
    text(client, sms_assistant, "STOP")
    for body in spellings(word):
        Contact.objects.filter(phone=twilio.TEXTER).update(opted_out=True)
        response = text(client, sms_assistant, body)
        assert response.content.decode() == said(OPTED_IN), body
        assert not contact().opted_out, body
    assert Message.objects.filter(role="assistant", body=OPTED_IN).count() == len(spellings(word))


@pytest.mark.parametrize("word", sorted(HELP_KEYWORDS))
def test_every_help_keyword_answers_the_help_text(client, sms_assistant, word):
    for body in spellings(word):
        assert text(client, sms_assistant, body).content.decode() == said(sms_assistant.help_text), body


def test_without_a_help_text_help_names_the_assistant(client, sms_assistant):
    sms_assistant.help_text = ""
    sms_assistant.save()
    reply = text(client, sms_assistant, "help").content.decode()
    assert "Help center" in reply
    assert "STOP" in reply


@pytest.mark.parametrize("body", ["Please stop by tomorrow", "stop it, help me", "HELP!?", "yes please", "S T O P X"])
def test_a_keyword_inside_a_sentence_is_just_a_message(client, sms_assistant, body):
    response = text(client, sms_assistant, body)
    assert response.content.decode() not in (EMPTY, said(OPTED_IN), said(sms_assistant.help_text))
    assert not contact().opted_out


def test_an_opted_out_contact_gets_no_answer_and_no_outbound_until_start(client, sms_assistant, workspace, twilio_api):
    text(client, sms_assistant, "STOP")
    for body in ("What are your opening hours?", "HELP"):
        assert text(client, sms_assistant, body).content.decode() == EMPTY
    assert Message.objects.filter(role="user").count() == 3  # stored all the same
    assert not Message.objects.filter(role="assistant").exists()

    conversation = Conversation.objects.get()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {factories.make_key(workspace, scopes=['chat:write'])[1]}")
    url = f"/api/v1/conversations/{conversation.public_id}/messages"
    refused = api.post(url, {"body": "Are you still there?"}, format="json")
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "conflict"
    assert "opted out of SMS" in error["message"]
    assert "START" in error["hint"]
    assert twilio_api.requests == []  # nothing reached Twilio
    assert not Message.objects.filter(role="agent").exists()

    assert text(client, sms_assistant, "start").content.decode() == said(OPTED_IN)
    assert api.post(url, {"body": "Welcome back"}, format="json").status_code == 201
    [sent] = twilio_api.requests
    assert (sent.form["To"], sent.form["Body"]) == (twilio.TEXTER, "Welcome back")


def test_a_retried_stop_stays_silent_and_stores_nothing_twice(client, sms_assistant):
    first = post_fixture(client, "inbound_sms", sms_assistant, Body="STOP", MessageSid="SM" + "e" * 32)
    again = post_fixture(client, "inbound_sms", sms_assistant, Body="STOP", MessageSid="SM" + "e" * 32)
    assert first.content.decode() == again.content.decode() == EMPTY
    assert Message.objects.count() == 1
    assert Event.objects.filter(type="contact.updated").count() == 1


def test_a_first_text_that_is_stop_makes_an_opted_out_contact(client, sms_assistant):
    assert text(client, sms_assistant, "STOP").content.decode() == EMPTY
    assert contact().opted_out
    assert contact().source == "sms"

"""A text to an assistant (SPEC §7): the contact, the SMS conversation, the message stored once, the TwiML reply."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client

from assistants.models import Conversation, Message
from core.models import Event
from crm.models import Contact
from tests import factories
from tests.pglocks import held_transaction, wait_for_lock_waiters
from tests.sms import twilio
from tests.sms.twilio import fixture, post_fixture

pytestmark = pytest.mark.django_db
HOURS = "We're open 9 to 5, Monday to Friday."
XML = '<?xml version="1.0" encoding="UTF-8"?>'


def twiml(reply: str | None) -> str:
    return f"{XML}<Response><Message>{reply}</Message></Response>" if reply else f"{XML}<Response />"


def events(type_: str) -> list[dict]:
    return [event.data for event in Event.objects.filter(type=type_).order_by("pk")]


def test_a_text_is_stored_and_answered_with_twiml(client, sms_assistant):
    payload = fixture("inbound_sms")
    response = post_fixture(client, "inbound_sms", sms_assistant)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml"
    assert response.content.decode() == twiml(HOURS)

    contact = Contact.objects.get()
    assert (contact.phone, contact.source, contact.opted_out) == (twilio.TEXTER, "sms", False)
    assert contact.workspace_id == sms_assistant.workspace_id
    conversation = Conversation.objects.get()
    assert (conversation.channel, conversation.assistant, conversation.contact) == ("sms", sms_assistant, contact)
    text, reply = conversation.messages.order_by("pk")
    assert (text.role, text.body, text.external_id) == ("user", "What are your opening hours?", payload["MessageSid"])
    assert (reply.role, reply.body, reply.external_id) == ("assistant", HOURS, None)

    assert [e["id"] for e in events("conversation.started")] == [conversation.public_id]
    assert events("conversation.started")[0]["channel"] == "sms"
    assert events("conversation.started")[0]["contact"] == contact.public_id
    assert [(e["id"], e["role"]) for e in events("message.created")] == [
        (text.public_id, "user"),
        (reply.public_id, "assistant"),
    ]
    assert [e["phone"] for e in events("contact.created")] == [twilio.TEXTER]
    actor = Event.objects.get(type="message.created", data__role="user").actor
    assert actor.endswith("…0199")
    assert twilio.TEXTER not in actor  # the number is not spread into event labels


def test_the_reply_as_the_v1_api_shows_it(client, sms_assistant, workspace):
    post_fixture(client, "inbound_sms", sms_assistant)
    conversation = Conversation.objects.get()
    api = Client(HTTP_AUTHORIZATION=f"Bearer {factories.make_key(workspace, scopes=['chat:read'])[1]}")
    listed = api.get("/api/v1/conversations?channel=sms").json()["results"]
    assert [c["id"] for c in listed] == [conversation.public_id]
    messages = api.get(f"/api/v1/conversations/{conversation.public_id}/messages").json()["results"]
    assert [(m["role"], m["body"]) for m in messages] == [
        ("assistant", HOURS),
        ("user", "What are your opening hours?"),
    ]


def test_the_next_text_continues_the_same_conversation(client, sms_assistant):
    post_fixture(client, "inbound_sms", sms_assistant)
    post_fixture(client, "inbound_sms", sms_assistant, MessageSid="SM" + "1" * 32, Body="Thanks!")
    assert Conversation.objects.count() == 1
    assert Conversation.objects.get().messages.count() == 4
    assert len(events("conversation.started")) == 1
    assert Contact.objects.count() == 1


def test_a_known_contact_is_found_by_phone(client, sms_assistant, workspace):
    contact = factories.make_contact(workspace, phone=twilio.TEXTER, name="Ada")
    post_fixture(client, "inbound_sms", sms_assistant)
    assert Conversation.objects.get().contact == contact
    assert Contact.objects.count() == 1
    assert not events("contact.created")[1:]  # only the factory's


def test_one_sms_conversation_per_contact_and_assistant(client, sms_assistant, workspace):
    """The contact's widget conversation is not reused; another assistant's number starts its own."""
    contact = factories.make_contact(workspace, phone=twilio.TEXTER)
    widget = factories.make_conversation(sms_assistant, contact=contact)
    other = factories.make_assistant(
        workspace,
        sms_number="+14155550101",
        twilio_account_sid=twilio.ACCOUNT_SID,
        twilio_auth_token=twilio.AUTH_TOKEN,
    )
    post_fixture(client, "inbound_sms", sms_assistant)
    post_fixture(client, "inbound_sms", other, To="+14155550101", MessageSid="SM" + "2" * 32)
    sms = Conversation.objects.filter(channel="sms")
    assert sorted(c.assistant_id for c in sms) == sorted([sms_assistant.pk, other.pk])
    assert not widget.messages.exists()


def test_the_latest_sms_conversation_is_continued(client, sms_assistant, workspace):
    contact = factories.make_contact(workspace, phone=twilio.TEXTER)
    factories.make_conversation(sms_assistant, contact=contact, channel="sms")
    latest = factories.make_conversation(sms_assistant, contact=contact, channel="sms")
    post_fixture(client, "inbound_sms", sms_assistant)
    assert latest.messages.count() == 2


def test_the_same_text_in_another_workspace_is_another_contact(client, sms_assistant):
    elsewhere = factories.make_workspace()
    factories.make_contact(elsewhere, phone=twilio.TEXTER)
    post_fixture(client, "inbound_sms", sms_assistant)
    assert Conversation.objects.get().contact.workspace_id == sms_assistant.workspace_id


def test_a_messaging_service_text(client, pool_assistant):
    response = post_fixture(client, "inbound_sms_messaging_service", pool_assistant)
    assert response.content.decode() == twiml("Yes, in 5 to 7 days.")
    assert Conversation.objects.get().contact.phone == twilio.POOL_TEXTER


# --- once per MessageSid


def counts() -> tuple[int, ...]:
    return (Message.objects.count(), Conversation.objects.count(), Contact.objects.count(), Event.objects.count())


def test_a_retried_text_gets_the_same_answer_and_stores_nothing(client, sms_assistant):
    first = post_fixture(client, "inbound_sms", sms_assistant)
    before = counts()
    again = post_fixture(client, "inbound_sms", sms_assistant)
    assert again.status_code == 200
    assert again.content == first.content
    assert counts() == before
    assert before[:3] == (2, 1, 1)


def test_a_retry_keeps_its_answer_when_newer_texts_were_answered(client, sms_assistant):
    first = post_fixture(client, "inbound_sms", sms_assistant)
    post_fixture(client, "inbound_sms", sms_assistant, MessageSid="SM" + "3" * 32, Body="HELP")
    post_fixture(client, "inbound_sms", sms_assistant, MessageSid="SM" + "4" * 32, Body="STOP")
    assert post_fixture(client, "inbound_sms", sms_assistant).content == first.content
    assert post_fixture(client, "inbound_sms", sms_assistant, MessageSid="SM" + "4" * 32, Body="STOP").content == (
        twiml(None).encode()
    )


def test_an_agent_message_between_does_not_change_a_retrys_answer(client, sms_assistant):
    first = post_fixture(client, "inbound_sms", sms_assistant)
    conversation = Conversation.objects.get()
    Message.objects.create(conversation=conversation, role="agent", body="A human here.")
    assert post_fixture(client, "inbound_sms", sms_assistant).content == first.content


def test_a_message_sid_of_another_message_is_a_conflict_and_stores_nothing(client, sms_assistant, workspace):
    conversation = factories.make_conversation(sms_assistant, channel="sms")
    Message.objects.create(conversation=conversation, role="agent", body="Sent by us", external_id="SM" + "5" * 32)
    before = counts()
    response = post_fixture(client, "inbound_sms", sms_assistant, MessageSid="SM" + "5" * 32)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert counts() == before


def _deliver_in_threads(assistant, sids: list[str]) -> list:
    responses: list = []

    def deliver(sid: str) -> None:
        try:
            responses.append(post_fixture(Client(), "inbound_sms", assistant, MessageSid=sid))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(sid,)) for sid in sids]
    for thread in threads:
        thread.start()
    return [threads, responses]


def _join(threads) -> None:
    for thread in threads:
        thread.join(timeout=30)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent transactions need PostgreSQL")
def test_a_retry_past_the_check_is_stopped_by_the_unique_message_sid_on_postgresql(sms_assistant):
    """The first delivery's rows are in an open transaction: the retry finds nothing stored, its INSERT
    waits on the first's MessageSid, and once that commits it is refused and answers what the first stored."""
    sid = fixture("inbound_sms")["MessageSid"]
    contact = factories.make_contact(sms_assistant.workspace, email="", phone=twilio.TEXTER)
    conversation = factories.make_conversation(sms_assistant, channel="sms", contact=contact)
    insert = (
        "INSERT INTO assistants_message (public_id, conversation_id, role, body, delivery_status, external_id,"
        " error_code, created_at) VALUES (%s, %s, %s, %s, '', %s, '', now() + %s * interval '1 ms')"
    )
    with held_transaction() as first:
        first.execute(insert, ["msg_first_text", conversation.pk, "user", "What are your opening hours?", sid, 0])
        first.execute(insert, ["msg_first_reply", conversation.pk, "assistant", "The first answer.", None, 1])
        threads, responses = _deliver_in_threads(sms_assistant, [sid])
        wait_for_lock_waiters(1)
        first.commit()
        _join(threads)
    assert [r.status_code for r in responses] == [200]
    assert responses[0].content.decode() == twiml("The first answer.")
    assert Message.objects.filter(role="user").count() == 1
    assert Message.objects.filter(role="assistant").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent transactions need PostgreSQL")
def test_two_first_texts_at_once_make_one_contact_and_one_conversation_on_postgresql(sms_assistant):
    """Another request's new contact for the number is in an open transaction: both texts find no contact,
    both INSERTs wait on it, and once it commits both use that contact — one after the other (its row lock)."""
    with held_transaction() as other:
        other.execute(
            "INSERT INTO crm_contact (public_id, workspace_id, email, phone, name, source, opted_out, created_at,"
            " updated_at) VALUES ('ct_first', %s, '', %s, '', 'sms', false, now(), now())",
            [sms_assistant.workspace_id, twilio.TEXTER],
        )
        threads, responses = _deliver_in_threads(sms_assistant, ["SM" + "6" * 32, "SM" + "7" * 32])
        wait_for_lock_waiters(2)
        other.commit()
        _join(threads)
    assert [r.status_code for r in responses] == [200, 200]
    assert list(Contact.objects.values_list("public_id", flat=True)) == ["ct_first"]
    assert Conversation.objects.count() == 1
    assert Message.objects.filter(role="user").count() == 2
    assert Event.objects.filter(type="conversation.started").count() == 1


# --- bad input on a signed request


@pytest.mark.parametrize("field", ["MessageSid", "From", "To"])
def test_a_missing_field_is_a_400(client, sms_assistant, field):
    response = post_fixture(client, "inbound_sms", sms_assistant, **{field: None})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["fields"] == {field: ["This field is required."]}
    assert counts() == (0, 0, 0, 0)


@pytest.mark.parametrize("phone", ["4155550199", "+0415555", "whatsapp:+14155550199", "+1 415 555 0199"])
def test_a_sender_that_is_not_e164_is_a_400(client, sms_assistant, phone):
    response = post_fixture(client, "inbound_sms", sms_assistant, From=phone)
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["From"]
    assert counts() == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("field", "value"),
    [("Body", "a\x00b"), ("MessageSid", "SM\x00"), ("MessageSid", "SM" + "a" * 80), ("Body", "x" * 4001)],
)
def test_bad_values_are_a_400_naming_the_field(client, sms_assistant, field, value):
    response = post_fixture(client, "inbound_sms", sms_assistant, **{field: value})
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    assert counts() == (0, 0, 0, 0)


def test_unknown_fields_are_fine(client, sms_assistant):
    response = post_fixture(client, "inbound_sms", sms_assistant, AddOns='{"status":"successful"}', NewField="x")
    assert response.status_code == 200


def test_the_longest_sms_is_stored_whole(client, sms_assistant):
    body = "é" * 1600
    assert post_fixture(client, "inbound_sms", sms_assistant, Body=body).status_code == 200
    assert Message.objects.get(role="user").body == body


def test_an_empty_body_is_stored(client, sms_assistant):
    """An MMS with only a picture has an empty Body (media is not kept)."""
    assert post_fixture(client, "inbound_sms", sms_assistant, Body="", NumMedia="1").status_code == 200
    assert Message.objects.get(role="user").body == ""


# --- untrusted text


SCRIPT = '<script>alert("hi")</script> & <b>bold</b>'


def test_a_body_with_html_is_stored_as_text_and_escaped_in_the_twiml(client, workspace):
    assistant = factories.make_assistant(
        workspace,
        faq=(("script alert", SCRIPT),),
        sms_number=twilio.SMS_NUMBER,
        twilio_account_sid=twilio.ACCOUNT_SID,
        twilio_auth_token=twilio.AUTH_TOKEN,
    )
    response = post_fixture(client, "inbound_sms", assistant, Body=SCRIPT)
    assert Message.objects.get(role="user").body == SCRIPT  # verbatim
    body = response.content.decode()
    assert "<script>" not in body
    assert "&lt;script&gt;" in body
    assert "&amp;" in body


def test_a_body_with_html_is_shown_escaped_in_the_admin(client, sms_assistant):
    post_fixture(client, "inbound_sms", sms_assistant, Body=SCRIPT)
    text = Message.objects.get(role="user")
    assert text.body == SCRIPT
    admin = Client()
    admin.force_login(factories.make_user("root@example.com", is_staff=True, is_superuser=True))
    conversation = text.conversation
    for url in (
        "/admin/assistants/message/",
        f"/admin/assistants/message/{text.pk}/change/",
        f"/admin/assistants/conversation/{conversation.pk}/change/",
    ):
        page = admin.get(url)
        assert page.status_code == 200, url
        html = page.content.decode()
        assert "<script>alert" not in html, url
        assert "&lt;script&gt;alert(&quot;hi&quot;)&lt;/script&gt;" in html, url


def test_a_reply_longer_than_an_sms_is_cut_at_twilios_limit(client, workspace):
    assistant = factories.make_assistant(
        workspace,
        faq=(("What are your opening hours?", "Long story. " * 300),),
        sms_number=twilio.SMS_NUMBER,
        twilio_account_sid=twilio.ACCOUNT_SID,
        twilio_auth_token=twilio.AUTH_TOKEN,
    )
    response = post_fixture(client, "inbound_sms", assistant)
    reply = Message.objects.get(role="assistant").body
    assert len(reply) <= 1600
    assert reply.endswith("…")
    assert response.content.decode() == twiml(reply)

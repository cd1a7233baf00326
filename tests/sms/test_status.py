"""Twilio's delivery reports (SPEC §7): by MessageSid, forward only, ErrorCode kept, unknown sids ignored."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.urls import resolve
from rest_framework.test import APIClient

from assistants.models import Conversation, Message
from sms.api import SmsStatusApi
from tests import factories
from tests.sms import twilio
from tests.sms.twilio import fixture, post_fixture

pytestmark = pytest.mark.django_db
EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response />'
PUBLIC = "https://parley.example.com"


@pytest.fixture
def sent(sms_assistant, workspace, twilio_api, settings):
    """An agent's reply on an SMS conversation, sent through twilio's client: ``(message, status callback URL)``."""
    settings.PUBLIC_BASE_URL = PUBLIC
    contact = factories.make_contact(workspace, phone=twilio.TEXTER)
    conversation = factories.make_conversation(sms_assistant, channel=Conversation.Channel.SMS, contact=contact)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {factories.make_key(workspace, scopes=['chat:write'])[1]}")
    response = api.post(f"/api/v1/conversations/{conversation.public_id}/messages", {"body": "On it!"}, format="json")
    assert response.status_code == 201
    [request] = twilio_api.requests
    message = Message.objects.get(public_id=response.json()["id"])
    assert message.delivery_status == "queued"
    assert message.external_id
    return message, request.form["StatusCallback"]


def report(client, assistant, message, status: str, **fields):
    """Twilio's status callback for ``message``, posted to the URL Parley gave Twilio."""
    name = {"undelivered": "status_undelivered", "failed": "status_failed"}.get(status, "status_sent")
    fields.setdefault("signed_url", f"{PUBLIC}/api/sms/status/{assistant.public_id}")
    fields = {"MessageSid": message.external_id, "MessageStatus": status, "SmsStatus": status, **fields}
    response = post_fixture(client, name, assistant, endpoint="status", **fields)
    message.refresh_from_db()
    return response


def test_the_callback_url_given_to_twilio_is_this_route(sent, sms_assistant):
    _, callback = sent
    assert callback == f"{PUBLIC}/api/sms/status/{sms_assistant.public_id}"
    assert resolve(urlsplit(callback).path).func.view_class is SmsStatusApi


def test_statuses_move_forward(client, sent, sms_assistant):
    message, _ = sent
    for status in ("sending", "sent", "delivered", "read"):
        response = report(client, sms_assistant, message, status)
        assert response.status_code == 200
        assert response["Content-Type"] == "text/xml"
        assert response.content.decode() == EMPTY
        assert message.delivery_status == status


@pytest.mark.parametrize(
    ("order", "final"),
    [
        (["delivered", "sent"], "delivered"),  # a late sent never overwrites delivered
        (["sent", "sending", "queued"], "sent"),
        (["delivered", "failed"], "delivered"),  # one final state does not replace another
        (["undelivered", "sent", "delivered"], "undelivered"),
        (["read", "delivered", "sent"], "read"),
        (["sending", "delivered", "sending", "sent"], "delivered"),
    ],
)
def test_out_of_order_callbacks_never_move_back(client, sent, sms_assistant, order, final):
    message, _ = sent
    for status in order:
        assert report(client, sms_assistant, message, status).status_code == 200
    assert message.delivery_status == final


@pytest.mark.parametrize(("status", "code"), [("undelivered", "30003"), ("failed", "30008")])
def test_failures_keep_twilios_error_code(client, sent, sms_assistant, status, code):
    message, _ = sent
    report(client, sms_assistant, message, "sent")
    assert report(client, sms_assistant, message, status).status_code == 200
    assert (message.delivery_status, message.error_code) == (status, code)
    report(client, sms_assistant, message, "sent")  # late
    assert (message.delivery_status, message.error_code) == (status, code)


def test_the_recorded_fixtures_as_twilio_sends_them(client, sent, sms_assistant):
    message, _ = sent
    signed = f"{PUBLIC}/api/sms/status/{sms_assistant.public_id}"
    for name in ("status_sent", "status_undelivered"):
        response = post_fixture(
            client, name, sms_assistant, endpoint="status", MessageSid=message.external_id, signed_url=signed
        )
        assert response.status_code == 200
    message.refresh_from_db()
    assert (message.delivery_status, message.error_code) == ("undelivered", "30003")


def test_an_unknown_sid_is_acknowledged_and_ignored(client, sent, sms_assistant):
    message, _ = sent
    response = post_fixture(
        client,
        "status_delivered",
        sms_assistant,
        endpoint="status",
        signed_url=f"{PUBLIC}/api/sms/status/{sms_assistant.public_id}",
    )
    assert fixture("status_delivered")["MessageSid"] != message.external_id
    assert response.status_code == 200
    assert response.content.decode() == EMPTY
    message.refresh_from_db()
    assert message.delivery_status == "queued"


def test_another_assistants_message_is_unknown_here(client, sent, sms_assistant, workspace, settings):
    message, _ = sent
    other = factories.make_assistant(
        workspace, sms_number=twilio.SMS_NUMBER, twilio_account_sid=twilio.ACCOUNT_SID, twilio_auth_token="2" * 32
    )
    response = report(
        client, other, message, "failed", token="2" * 32, signed_url=f"{PUBLIC}/api/sms/status/{other.public_id}"
    )
    assert response.status_code == 200
    assert message.delivery_status == "queued"


def test_an_inbound_texts_sid_is_not_a_sent_message(client, sms_assistant):
    post_fixture(client, "inbound_sms", sms_assistant)
    inbound = Message.objects.get(role="user")
    response = post_fixture(client, "status_failed", sms_assistant, endpoint="status", MessageSid=inbound.external_id)
    assert response.status_code == 200
    inbound.refresh_from_db()
    assert (inbound.delivery_status, inbound.error_code) == ("", "")


@pytest.mark.parametrize("status", ["accepted", "scheduled", "canceled", "partially_delivered", "whatever"])
def test_a_status_parley_does_not_track_is_acknowledged_and_ignored(client, sent, sms_assistant, status):
    message, _ = sent
    assert report(client, sms_assistant, message, status).status_code == 200
    assert message.delivery_status == "queued"


def test_the_legacy_sms_status_field_is_read_when_message_status_is_missing(client, sent, sms_assistant):
    message, _ = sent
    assert report(client, sms_assistant, message, "sent", MessageStatus=None).status_code == 200
    assert message.delivery_status == "sent"


def test_a_status_sent_through_a_messaging_service(client, pool_assistant, workspace):
    contact = factories.make_contact(workspace, phone=twilio.POOL_TEXTER)
    conversation = factories.make_conversation(pool_assistant, channel="sms", contact=contact)
    sid = fixture("status_delivered_messaging_service")["MessageSid"]
    message = Message.objects.create(
        conversation=conversation, role="agent", body="Hi", external_id=sid, delivery_status="sent"
    )
    response = post_fixture(client, "status_delivered_messaging_service", pool_assistant, endpoint="status")
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.delivery_status == "delivered"


@pytest.mark.parametrize(
    "fields",
    [{"AccountSid": "AC" + "0" * 32}, {"From": "+14155550111"}, {"From": None}, {"AccountSid": None}],
)
def test_a_callback_about_another_account_or_number_is_refused(client, sent, sms_assistant, fields):
    message, _ = sent
    response = report(client, sms_assistant, message, "delivered", **fields)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_signature"
    assert message.delivery_status == "queued"


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"MessageSid": None}, "MessageSid"),
        ({"MessageStatus": None, "SmsStatus": None}, "MessageStatus"),
        ({"ErrorCode": "30003\x00"}, "ErrorCode"),
        ({"ErrorCode": "x" * 40}, "ErrorCode"),
    ],
)
def test_bad_callbacks_are_a_400(client, sent, sms_assistant, fields, name):
    message, _ = sent
    status = fields.pop("status", "failed")
    response = report(client, sms_assistant, message, status, **fields)
    assert response.status_code == 400
    assert name in response.json()["error"]["fields"]
    assert message.delivery_status == "queued"

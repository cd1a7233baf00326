"""Conversations through /api/v1/: reading them, and a human agent's reply (SPEC §4)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from assistants.models import Conversation, Message
from tests import factories
from tests.twilio_recorder import start_recorder

pytestmark = pytest.mark.django_db
ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "f" * 32


@pytest.fixture
def api(workspace):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {factories.make_key(workspace, scopes=['chat:write'])[1]}")
    return client


@pytest.fixture
def twilio(settings):
    recorder, server = start_recorder()
    settings.TWILIO_API_BASE_URL = recorder.url
    settings.PUBLIC_BASE_URL = "https://parley.example.com"
    yield recorder
    server.shutdown()


def test_list_conversations_and_read_messages(api, workspace):
    assistant = factories.make_assistant(workspace)
    conversation = factories.make_conversation(assistant)
    Message.objects.create(conversation=conversation, role="user", body="Hello")
    listed = api.get("/api/v1/conversations").json()["results"]
    assert [c["id"] for c in listed] == [conversation.public_id]
    assert listed[0]["assistant"] == assistant.public_id
    assert api.get(f"/api/v1/conversations?assistant={assistant.public_id}&channel=widget").json()["results"]
    assert api.get("/api/v1/conversations?channel=sms").json()["results"] == []
    assert api.get("/api/v1/conversations?channel=pigeon").status_code == 400
    messages = api.get(f"/api/v1/conversations/{conversation.public_id}/messages").json()["results"]
    assert [(m["role"], m["body"]) for m in messages] == [("user", "Hello")]


def test_an_agent_reply_on_the_widget_is_stored_for_the_visitors_history(api, workspace):
    conversation = factories.make_conversation(factories.make_assistant(workspace))
    response = api.post(
        f"/api/v1/conversations/{conversation.public_id}/messages", {"body": "A human here."}, format="json"
    )
    assert response.status_code == 201
    reply = response.json()
    assert (reply["role"], reply["body"], reply["delivery_status"]) == ("agent", "A human here.", None)
    assert conversation.messages.get().role == "agent"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"body": ""}, "body"),
        ({"body": "x" * 4001}, "body"),
        ({"body": "hi", "role": "assistant"}, "role"),
    ],
)
def test_bad_agent_replies_are_refused(api, workspace, body, field):
    conversation = factories.make_conversation(factories.make_assistant(workspace))
    response = api.post(f"/api/v1/conversations/{conversation.public_id}/messages", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not conversation.messages.exists()


def sms_conversation(workspace, **contact):
    assistant = factories.make_assistant(
        workspace, sms_number="+14155550100", twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN
    )
    contact = factories.make_contact(workspace, phone="+14155550199", **contact)
    return factories.make_conversation(assistant, channel=Conversation.Channel.SMS, contact=contact)


def test_an_agent_reply_on_sms_is_sent_with_twilios_client(api, workspace, twilio):
    conversation = sms_conversation(workspace)
    response = api.post(
        f"/api/v1/conversations/{conversation.public_id}/messages", {"body": "On our way!"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["delivery_status"] == "queued"
    [sent] = twilio.requests
    assert sent.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert sent.basic_user == ACCOUNT_SID
    assert sent.form == {
        "To": "+14155550199",
        "From": "+14155550100",
        "Body": "On our way!",
        "StatusCallback": f"https://parley.example.com/api/sms/status/{conversation.assistant.public_id}",
    }
    stored = conversation.messages.get()
    assert stored.external_id == "SM" + f"{1:032x}"


def test_a_twilio_refusal_keeps_the_reply_marked_failed(api, workspace, twilio):
    twilio.status = 400
    conversation = sms_conversation(workspace)
    response = api.post(f"/api/v1/conversations/{conversation.public_id}/messages", {"body": "Hi"}, format="json")
    assert response.status_code == 201
    assert response.json()["delivery_status"] == "failed"
    assert conversation.messages.get().error_code == "21610"


def test_an_opted_out_contact_gets_nothing(api, workspace, twilio):
    conversation = sms_conversation(workspace, opted_out=True)
    response = api.post(f"/api/v1/conversations/{conversation.public_id}/messages", {"body": "Hi"}, format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "conflict"
    assert "opted out" in error["message"]
    assert twilio.requests == []
    assert not conversation.messages.exists()

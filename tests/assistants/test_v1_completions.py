"""``POST /api/v1/assistants/{id}/completions``: asking an assistant from a server (SPEC §4).

Its scope (``chat:write``), plan gating and another workspace's ids are checked with every
other endpoint's in tests/crm/test_v1_contract.py.
"""

from __future__ import annotations

import pytest

from assistants.models import Conversation, Message
from core.models import Event
from tests import factories

pytestmark = pytest.mark.django_db
FAQ = (("How do I get a refund?", "Reply to your order email within 30 days."),)


@pytest.fixture
def assistant(workspace):
    return factories.make_assistant(workspace, faq=FAQ)


@pytest.fixture
def chat_key(workspace):
    return factories.make_key(workspace, scopes=["chat:write"])[1]


def ask(api_client, assistant_id, key, body):
    return api_client.post(
        f"/api/v1/assistants/{assistant_id}/completions", body, format="json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )


def turns(*texts):
    return [{"role": "user", "content": text} for text in texts]


def test_a_completion_answers_in_a_new_api_conversation(api_client, assistant, chat_key):
    response = ask(api_client, assistant.public_id, chat_key, {"messages": turns("How do I get a refund?")})
    assert response.status_code == 200, response.content
    data = response.json()
    conversation = Conversation.objects.get(public_id=data["conversation_id"])
    assert conversation.channel == "api"
    assert conversation.assistant == assistant
    assert data["message"]["role"] == "assistant"
    assert data["message"]["content"] == "Reply to your order email within 30 days."
    assert data["id"] == conversation.messages.last().public_id
    assert Event.objects.filter(type="conversation.started").count() == 1
    assert Event.objects.filter(type="message.created").count() == 2


def test_with_conversation_id_it_continues_and_answers_the_last_turn(api_client, assistant, chat_key):
    first = ask(api_client, assistant.public_id, chat_key, {"messages": turns("hello")}).json()
    body = {"messages": turns("I bought shoes", "How do I get a refund?"), "conversation_id": first["conversation_id"]}
    second = ask(api_client, assistant.public_id, chat_key, body)
    assert second.status_code == 200
    assert second.json()["conversation_id"] == first["conversation_id"]
    assert second.json()["message"]["content"] == "Reply to your order email within 30 days."
    roles = list(
        Message.objects.filter(conversation__public_id=first["conversation_id"]).values_list("role", flat=True)
    )
    assert roles == ["user", "assistant", "user", "user", "assistant"]


def test_another_assistants_or_channels_conversation_is_404(api_client, workspace, assistant, chat_key):
    other = factories.make_assistant(workspace)
    theirs = ask(api_client, other.public_id, chat_key, {"messages": turns("hi")}).json()["conversation_id"]
    widget = factories.make_conversation(assistant).public_id
    for conversation_id in (theirs, widget, "conv_nope"):
        body = {"messages": turns("hi"), "conversation_id": conversation_id}
        response = ask(api_client, assistant.public_id, chat_key, body)
        assert response.status_code == 404
        assert response.json()["error"]["message"] == "No such conversation of this assistant."
    assert not Message.objects.filter(conversation__public_id=widget).exists()


def test_another_workspaces_assistant_is_404(api_client, chat_key):
    theirs = factories.make_assistant(factories.make_workspace())
    response = ask(api_client, theirs.public_id, chat_key, {"messages": turns("hi")})
    assert response.status_code == 404
    assert not Conversation.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": turns(*["hi"] * 21)}, "messages"),
        ({"messages": [{"role": "assistant", "content": "I am sure"}]}, "messages"),
        ({"messages": [{"role": "user", "content": ""}]}, "messages"),
        ({"messages": [{"role": "user", "content": "x" * 4001}]}, "messages"),
        ({"messages": [{"role": "user", "content": "hi", "name": "x"}]}, "messages"),
        ({"messages": "hi"}, "messages"),
        ({"messages": turns("hi"), "channel": "sms"}, "channel"),
    ],
)
def test_bad_bodies_are_400_and_store_nothing(api_client, assistant, chat_key, body, field):
    response = ask(api_client, assistant.public_id, chat_key, body)
    assert response.status_code == 400
    # the field, or a path inside it (messages.2.content): errors inside a list are named by path
    assert any(name == field or name.startswith(f"{field}.") for name in response.json()["error"]["fields"])
    assert not Message.objects.exists()

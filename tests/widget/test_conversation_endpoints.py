"""``chat``, ``history``, ``lead`` and ``feedback``: what a visitor does in a session (SPEC §5)."""

from __future__ import annotations

import pytest

from assistants.models import Message
from assistants.responders import FOLLOW_UP_REPLY
from core.models import Event
from crm.models import Contact
from tests import factories
from widget.models import Feedback

pytestmark = pytest.mark.django_db


def test_chat_answers_from_the_faq_and_stores_both_messages(visitor):
    visitor.start()
    response = visitor.post("chat", {"message": "What are your opening hours?"})
    assert response.status_code == 201
    data = response.json()
    assert (data["message"]["role"], data["message"]["body"]) == ("user", "What are your opening hours?")
    assert data["reply"] == {
        "id": data["reply"]["id"],
        "role": "assistant",
        "body": "Monday to Friday, 9:00 to 17:00.",
        "created_at": data["reply"]["created_at"],
    }
    assert list(Message.objects.values_list("role", flat=True)) == ["user", "assistant"]
    assert Event.objects.filter(type="message.created").count() == 2


def test_chat_offers_a_human_when_nothing_matches(visitor):
    visitor.start()
    assert visitor.post("chat", {"message": "Quantum chromodynamics?"}).json()["reply"]["body"] == FOLLOW_UP_REPLY


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "message"),
        ({"message": ""}, "message"),
        ({"message": "x" * 4001}, "message"),
        ({"message": 7, "x": 1}, "x"),
    ],
)
def test_chat_refuses_bad_messages(visitor, body, field):
    visitor.start()
    response = visitor.post("chat", body)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Message.objects.exists()


def test_history_survives_a_reload_and_shows_agents_replies(visitor, workspace, api_client):
    conversation_id = visitor.start()["conversation_id"]
    visitor.post("chat", {"message": "How do I get a refund?"})
    _key, plain = factories.make_key(workspace, scopes=["chat:write"])
    agent = api_client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        {"body": "I've refunded your order."},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {plain}",
    )
    assert agent.status_code == 201, agent.content
    response = visitor.get("history")
    assert response.status_code == 200
    assert response.json()["conversation_id"] == conversation_id
    assert [(m["role"], m["body"]) for m in response.json()["results"]] == [
        ("user", "How do I get a refund?"),
        ("assistant", "Reply to your order email within 30 days."),
        ("agent", "I've refunded your order."),
    ]


def test_history_refuses_nul_in_parameters(visitor):
    visitor.start()
    assert visitor.get("history", {"conversation_id": "conv_\x00"}).status_code == 400


class TestLead:
    def test_a_lead_makes_a_widget_contact_linked_to_the_conversation(self, visitor, workspace):
        conversation_id = visitor.start()["conversation_id"]
        response = visitor.post("lead", {"email": "Ann@Example.com", "name": "Ann"})
        assert response.status_code == 201
        contact = Contact.objects.get(workspace=workspace)
        assert response.json() == {
            "contact": {"id": contact.public_id, "email": "Ann@Example.com", "phone": None, "name": "Ann"}
        }
        assert (contact.email, contact.name, contact.source) == ("Ann@Example.com", "Ann", "widget")
        assert contact.conversations.get().public_id == conversation_id
        lead = Event.objects.get(type="lead.captured")
        assert (lead.data["id"], lead.data["email"], lead.data["source"]) == (
            contact.public_id,
            "Ann@Example.com",
            "widget",
        )
        assert lead.data["assistant"] == visitor.assistant.public_id
        assert lead.data["conversation"] == conversation_id
        assert Event.objects.filter(type="contact.created").count() == 1

    def test_an_existing_contact_only_gains_what_it_lacks(self, visitor, workspace):
        existing = factories.make_contact(workspace, email="ann@example.com", name="Ann Original")
        visitor.start()
        response = visitor.post("lead", {"email": "ANN@example.com", "name": "Mallory", "phone": "+14155550100"})
        assert response.status_code == 201
        existing.refresh_from_db()
        assert existing.name == "Ann Original"  # never overwritten by a stranger
        assert existing.phone == "+14155550100"  # what it lacked
        # The answer echoes what was typed, not what the contact holds.
        assert response.json()["contact"]["name"] == "Mallory"
        assert Contact.objects.count() == 1

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({}, "email"),
            ({"name": "Ann"}, "email"),
            ({"email": "not-an-email"}, "email"),
            ({"phone": "0044 20 7946"}, "phone"),
            ({"email": "a@example.com", "name": "x" * 201}, "name"),
            ({"email": "a@example.com", "source": "api"}, "source"),
        ],
    )
    def test_bad_leads_are_400_and_make_nothing(self, visitor, body, field):
        visitor.start()
        response = visitor.post("lead", body)
        assert response.status_code == 400
        assert field in response.json()["error"]["fields"]
        assert not Contact.objects.exists()


class TestFeedback:
    def test_feedback_on_a_reply_is_recorded_with_its_event(self, visitor):
        visitor.start()
        reply_id = visitor.post("chat", {"message": "refund"}).json()["reply"]["id"]
        response = visitor.post("feedback", {"rating": "down", "comment": "Too short", "message_id": reply_id})
        assert response.status_code == 201
        body = response.json()["feedback"]
        assert (body["rating"], body["comment"], body["message_id"]) == ("down", "Too short", reply_id)
        feedback = Feedback.objects.get()
        assert feedback.message.public_id == reply_id
        event = Event.objects.get(type="feedback.submitted")
        assert (event.data["rating"], event.data["id"]) == ("down", feedback.public_id)

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"rating": "meh"}, "rating"),
            ({}, "rating"),
            ({"rating": "up", "comment": "x" * 1001}, "comment"),
            ({"rating": "up", "message_id": "msg_not_here"}, "message_id"),
        ],
    )
    def test_bad_feedback_is_400(self, visitor, body, field):
        visitor.start()
        response = visitor.post("feedback", body)
        assert response.status_code == 400
        assert field in response.json()["error"]["fields"]
        assert not Feedback.objects.exists()

    def test_feedback_cannot_name_another_conversations_message(self, visitor, widget_assistant):
        other = factories.make_conversation(widget_assistant)
        foreign = Message.objects.create(conversation=other, role="assistant", body="hi")
        visitor.start()
        response = visitor.post("feedback", {"rating": "up", "message_id": foreign.public_id})
        assert response.status_code == 400

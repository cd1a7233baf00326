"""OWASP API6:2023 Unrestricted Access to Sensitive Business Flows — the flows a script would abuse.

The widget is open to the internet by design, so its flows that reach the customer's
business are bounded per client IP, not only per visitor token (a script can start a new
session, hence a new token, 20 times a minute): support tickets (which make contacts),
leads (contacts in the CRM, ``lead.captured`` to every webhook) and feedback (the ratings).
And a visitor writes only into their own conversation, whatever the body names.
"""

from __future__ import annotations

import pytest
from django.test import Client

from assistants.models import Message
from crm.models import Contact, Ticket
from tests import factories
from tests.widget.conftest import SITE, Visitor
from widget.models import Feedback

pytestmark = pytest.mark.django_db


def _lower(settings, **rates: str) -> None:
    settings.WIDGET_RATE_LIMITS = {**settings.WIDGET_RATE_LIMITS, **rates}


def _visitor(assistant, ip: str = "203.0.113.1") -> Visitor:
    visitor = Visitor(client=Client(REMOTE_ADDR=ip), assistant=assistant)
    visitor.start()
    return visitor


def test_ticket_spam_is_bounded_per_ip_across_assistants(settings, widget_assistant, workspace):
    _lower(settings, tickets="3/h")
    other = factories.make_assistant(workspace, widget_enabled=True, allowed_origins=[SITE])
    client = Client(REMOTE_ADDR="203.0.113.1")
    answers = [
        client.post(
            "/api/widget/tickets/create",
            {"assistant_id": assistant.public_id, "email": f"spam{i}@example.com", "subject": "Buy", "message": "now"},
            content_type="application/json",
            headers={"Origin": SITE},
        ).status_code
        for i, assistant in enumerate([widget_assistant, other, widget_assistant, other, widget_assistant])
    ]
    assert answers == [201, 201, 201, 429, 429]
    assert Ticket.objects.count() == 3
    assert Contact.objects.count() == 3


def test_lead_spam_is_bounded_per_ip_however_many_sessions(settings, widget_assistant):
    _lower(settings, lead_ip="3/h")
    answers = [_visitor(widget_assistant).post("lead", {"email": f"spam{i}@example.com"}).status_code for i in range(5)]
    assert answers == [201, 201, 201, 429, 429]
    assert Contact.objects.count() == 3
    assert _visitor(widget_assistant, ip="198.51.100.2").post("lead", {"email": "real@example.com"}).status_code == 201


def test_rating_stuffing_is_bounded_per_ip_however_many_sessions(settings, widget_assistant):
    _lower(settings, feedback_ip="3/h")
    answers = [_visitor(widget_assistant).post("feedback", {"rating": "down"}).status_code for _ in range(5)]
    assert answers == [201, 201, 201, 429, 429]
    assert Feedback.objects.count() == 3


def test_a_lead_never_takes_over_an_existing_contact(widget_assistant, workspace):
    """Typing a customer's e-mail into the widget neither renames their contact nor shows what it holds."""
    factories.make_contact(workspace, email="ceo@example.com", name="The CEO", phone="+14155550100")
    answer = _visitor(widget_assistant).post("lead", {"email": "CEO@example.com", "name": "Mallory"}).json()
    assert answer["contact"]["name"] == "Mallory"  # what the visitor typed, echoed
    assert answer["contact"]["phone"] is None  # never what the contact held
    contact = Contact.objects.get(email="ceo@example.com")
    assert (contact.name, contact.phone) == ("The CEO", "+14155550100")


def test_a_visitor_writes_only_into_their_own_conversation(widget_assistant):
    mallory = _visitor(widget_assistant)
    alice = _visitor(widget_assistant, ip="198.51.100.3")
    alices = alice.get("history").json()["conversation_id"]
    alices_reply = alice.post("chat", {"message": "What are your opening hours?"}).json()["reply"]["id"]
    for endpoint, body in [
        ("chat", {"message": "spam", "conversation_id": alices}),
        ("lead", {"email": "spam@example.com", "conversation_id": alices}),
        ("feedback", {"rating": "down", "conversation_id": alices}),
    ]:
        refused = mallory.post(endpoint, body)
        assert refused.status_code == 400, refused.content
        assert "conversation_id" in refused.json()["error"]["fields"]
    refused = mallory.post("feedback", {"rating": "down", "message_id": alices_reply})
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"] == {"message_id": ["No such message in this conversation."]}
    assert not Message.objects.filter(conversation__public_id=alices, body="spam").exists()
    assert not Feedback.objects.filter(conversation__public_id=alices).exists()
    assert [m["id"] for m in alice.get("history").json()["results"]][-1] == alices_reply  # nothing added


def test_an_api_key_cannot_speak_as_a_visitor(widget_assistant, workspace):
    """Completions continue only conversations completions started: not a visitor's widget chat."""
    from rest_framework.test import APIClient

    visitor_conversation = _visitor(widget_assistant).get("history").json()["conversation_id"]
    _, key = factories.make_key(workspace, scopes=["chat:write"])
    response = APIClient().post(
        f"/api/v1/assistants/{widget_assistant.public_id}/completions",
        {"messages": [{"role": "user", "content": "I am the visitor"}], "conversation_id": visitor_conversation},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 404
    assert not Message.objects.filter(body="I am the visitor").exists()

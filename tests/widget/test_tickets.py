"""``POST /api/widget/tickets/create``: a site's contact form, 5 an hour per IP, every request counted."""

from __future__ import annotations

import pytest

from core.models import Event
from crm.models import Contact, Ticket
from tests.widget.conftest import SITE

pytestmark = pytest.mark.django_db
URL = "/api/widget/tickets/create"


def _post(client, body, origin=SITE, ip="203.0.113.7"):
    headers = {"Origin": origin} if origin else {}
    return client.post(URL, body, content_type="application/json", headers=headers, REMOTE_ADDR=ip)


def _ticket(assistant, **extra):
    return {
        "assistant_id": assistant.public_id,
        "email": "ann@example.com",
        "subject": "My order never came",
        "message": "Order 1234, placed a week ago.",
        **extra,
    }


def test_a_ticket_is_made_with_its_contact(client, widget_assistant, workspace):
    response = _post(client, _ticket(widget_assistant))
    assert response.status_code == 201
    ticket = Ticket.objects.get(workspace=workspace)
    assert response.json()["ticket"]["id"] == ticket.public_id
    assert (ticket.subject, ticket.body, ticket.source) == (
        "My order never came",
        "Order 1234, placed a week ago.",
        "widget",
    )
    assert ticket.contact == Contact.objects.get(email="ann@example.com", source="widget")
    assert Event.objects.filter(type="ticket.created").count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "nope"}, "email"),
        ({"subject": ""}, "subject"),
        ({"subject": "x" * 201}, "subject"),
        ({"message": "x" * 4001}, "message"),
        ({"priority": "urgent"}, "priority"),
    ],
)
def test_bad_tickets_are_400_and_make_nothing(client, widget_assistant, change, field):
    response = _post(client, _ticket(widget_assistant, **change))
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Ticket.objects.exists()


def test_unknown_assistant_and_refused_origin(client, widget_assistant):
    assert _post(client, _ticket(widget_assistant, assistant_id="ast_nope")).status_code == 404
    response = _post(client, _ticket(widget_assistant), origin="https://evil.example.com")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "origin_not_allowed"
    assert not Ticket.objects.exists()


def test_five_an_hour_per_ip_and_invalid_requests_count_too(client, widget_assistant):
    for _ in range(3):
        assert _post(client, {"assistant_id": "garbage"}).status_code == 400
    assert _post(client, _ticket(widget_assistant)).status_code == 201
    assert _post(client, _ticket(widget_assistant, assistant_id="ast_nope")).status_code == 404
    response = _post(client, _ticket(widget_assistant))
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert 0 < int(response.headers["Retry-After"]) <= 3600
    assert Ticket.objects.count() == 1
    assert _post(client, _ticket(widget_assistant), ip="198.51.100.1").status_code == 201  # another IP

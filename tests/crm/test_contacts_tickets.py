"""Contacts and tickets through /api/v1/, as an API client uses them (SPEC §4)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from core.events import domain_event
from crm.models import Contact, Ticket
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(workspace):
    return factories.make_key(workspace, scopes=["contacts:write", "tickets:write"])[1]


@pytest.fixture
def api(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def fields_of(response):
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid_request"
    return response.json()["error"]["fields"]


@pytest.fixture
def events():
    seen = []

    def record(sender, event, **kwargs):
        seen.append(event)

    domain_event.connect(record)
    yield seen
    domain_event.disconnect(record)


def test_create_read_update_delete_a_contact(api, events, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(
            "/api/v1/contacts", {"email": "Ada@Example.com", "name": "Ada", "phone": "+14155550123"}, format="json"
        )
    assert created.status_code == 201, created.content
    contact = created.json()
    assert contact["id"].startswith("ct_")
    assert (contact["email"], contact["source"], contact["opted_out"]) == ("ada@example.com", "api", False)
    assert [e.type for e in events] == ["contact.created"]
    assert events[0].data == contact
    url = f"/api/v1/contacts/{contact['id']}"
    assert api.get(url).json() == contact
    with django_capture_on_commit_callbacks(execute=True):
        updated = api.patch(url, {"name": "Ada Lovelace"}, format="json").json()
    assert updated["name"] == "Ada Lovelace"
    assert [e.type for e in events] == ["contact.created", "contact.updated"]
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


def test_a_duplicate_email_any_case_is_409_with_the_existing_id(api):
    first = api.post("/api/v1/contacts", {"email": "ada@example.com"}, format="json").json()
    again = api.post("/api/v1/contacts", {"email": "ADA@example.COM"}, format="json")
    assert again.status_code == 409
    error = again.json()["error"]
    assert (error["code"], error["existing_id"]) == ("conflict", first["id"])
    assert error["hint"]
    assert Contact.objects.count() == 1
    other = api.post("/api/v1/contacts", {"email": "bob@example.com"}, format="json").json()
    assert api.patch(f"/api/v1/contacts/{other['id']}", {"email": "ada@example.com"}, format="json").status_code == 409


def test_the_same_email_in_another_workspace_is_fine(api):
    factories.make_contact(factories.make_workspace(), email="ada@example.com")
    assert api.post("/api/v1/contacts", {"email": "ada@example.com"}, format="json").status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "email"),
        ({"email": "not-an-email"}, "email"),
        ({"phone": "555-0123"}, "phone"),
        ({"email": "a@example.com", "name": "x" * 201}, "name"),
        ({"email": "a@example.com", "opted_out": "maybe"}, "opted_out"),
        ({"email": "a@example.com", "workspace": 2}, "workspace"),
        ({"email": "a@example.com", "source": "widget"}, "source"),
        ({"email": "a@example.com", "id": "ct_mine"}, "id"),
        ({"email": "a@example.com", "created_at": "2020-01-01T00:00:00Z"}, "created_at"),
    ],
)
def test_contact_validation_and_mass_assignment(api, body, field):
    assert field in fields_of(api.post("/api/v1/contacts", body, format="json"))
    assert not Contact.objects.exists()


def test_filters_and_pagination(api, workspace):
    for i in range(30):
        factories.make_contact(workspace, email=f"c{i}@example.com")
    page = api.get("/api/v1/contacts").json()
    assert len(page["results"]) == 25
    assert page["results"][0]["email"] == "c29@example.com"  # newest first
    assert page["previous"] is None
    rest = api.get(page["next"]).json()
    assert len(rest["results"]) == 5
    assert len(api.get("/api/v1/contacts?limit=500").json()["results"]) == 30  # capped at 100, not refused
    assert [c["email"] for c in api.get("/api/v1/contacts?email=C7@example.com").json()["results"]] == [
        "c7@example.com"
    ]
    assert "updated_since" in fields_of(api.get("/api/v1/contacts?updated_since=yesterday"))
    assert api.get("/api/v1/contacts?updated_since=2999-01-01T00:00:00Z").json()["results"] == []


def test_create_and_update_a_ticket(api, workspace, events, django_capture_on_commit_callbacks):
    contact = factories.make_contact(workspace)
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post("/api/v1/tickets", {"subject": "Broken", "contact": contact.public_id}, format="json")
    ticket = created.json()
    assert created.status_code == 201
    assert (ticket["status"], ticket["priority"], ticket["contact"], ticket["source"]) == (
        "open",
        "normal",
        contact.public_id,
        "api",
    )
    with django_capture_on_commit_callbacks(execute=True):
        solved = api.patch(f"/api/v1/tickets/{ticket['id']}", {"status": "solved", "priority": "high"}, format="json")
    assert solved.json()["status"] == "solved"
    assert [e.type for e in events] == ["ticket.created", "ticket.updated"]  # the factory's contact never committed
    assert [t["id"] for t in api.get("/api/v1/tickets?status=solved").json()["results"]] == [ticket["id"]]
    assert "status" in fields_of(api.get("/api/v1/tickets?status=done"))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "subject"),
        ({"subject": "x" * 201}, "subject"),
        ({"subject": "s", "status": "done"}, "status"),
        ({"subject": "s", "priority": "asap"}, "priority"),
        ({"subject": "s", "contact": "ct_nope"}, "contact"),
        ({"subject": "s", "workspace": 1}, "workspace"),
        ({"subject": "s", "source": "sms"}, "source"),
    ],
)
def test_ticket_validation(api, body, field):
    assert field in fields_of(api.post("/api/v1/tickets", body, format="json"))
    assert not Ticket.objects.exists()


def test_a_contact_of_another_workspace_cannot_be_attached(api):
    theirs = factories.make_contact(factories.make_workspace())
    assert "contact" in fields_of(
        api.post("/api/v1/tickets", {"subject": "s", "contact": theirs.public_id}, format="json")
    )

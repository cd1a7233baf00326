"""Fixtures of the OpenAPI tests: the WSGI app in this process, the served document, and a key holding every scope."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client

from apikeys.scopes import READ_WRITE
from assistants.models import Conversation
from assistants.schema import ASSISTANT_EXAMPLE, CONVERSATION_EXAMPLE
from crm.models import Contact, Ticket
from crm.schema import CONTACT_EXAMPLE, TICKET_EXAMPLE
from tests import factories


@pytest.fixture
def wsgi_app(db):
    """The project's WSGI app, called in this process inside the test's transaction.

    As Django's test client does, the request signals do not close the database
    connection meanwhile (that would end the test's transaction).
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield WSGIHandler()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def served_document() -> dict[str, Any]:
    """The OpenAPI document exactly as ``GET /api/v1/schema/`` serves it (no key)."""
    response = Client().get("/api/v1/schema/")
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)


@pytest.fixture(scope="session")
def document() -> dict[str, Any]:
    return served_document()


@pytest.fixture
def full_key(db, settings, monkeypatch):
    """A key with every scope on a pro workspace, and the objects the document's examples name."""
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"  # nothing here may leave the machine (no SMS is sent)
    # Subscribing checks target_url by resolving its host; schemathesis invents hosts, and no
    # DNS query may leave the machine: every name resolves to a documentation address here.
    # Nothing commits in this test, so no delivery is ever attempted.
    real_getaddrinfo = socket.getaddrinfo

    def offline_getaddrinfo(host, port, *args, **kwargs):
        if host in {"localhost", "127.0.0.1", "::1"}:
            return real_getaddrinfo(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("203.0.113.10", port or 443))]

    monkeypatch.setattr(socket, "getaddrinfo", offline_getaddrinfo)
    workspace = factories.make_workspace()
    assistant = factories.make_assistant(workspace, name=ASSISTANT_EXAMPLE["name"])
    contact = factories.make_contact(workspace, email="someone@example.com", phone="+14155550199")
    Contact.objects.filter(pk=contact.pk).update(public_id=CONTACT_EXAMPLE["id"])
    ticket = factories.make_ticket(workspace, contact=contact)
    Ticket.objects.filter(pk=ticket.pk).update(public_id=TICKET_EXAMPLE["id"])
    conversation = factories.make_conversation(assistant, contact=contact)
    Conversation.objects.filter(pk=conversation.pk).update(public_id=CONVERSATION_EXAMPLE["id"])
    for n in range(3):
        factories.make_contact(workspace, name=f"Contact {n}")
        factories.make_ticket(workspace)
    _, plain = factories.make_key(workspace, scopes=READ_WRITE, rate_limit="100000/h")
    return plain

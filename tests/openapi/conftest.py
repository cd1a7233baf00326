"""Fixtures of the OpenAPI tests: the WSGI app in this process, and the served document."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client


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

"""OWASP API9:2023 Improper Inventory Management — what answers under ``/api/v1/`` is what the document says.

Every route under ``/api/v1/`` (but the document and its docs page) is a key-checked
``ApiV1View`` and an operation of the OpenAPI document, and every operation is a route;
a method the document does not list answers 405 (``OPTIONS`` included: no view describes
itself), a path it does not list 404, and there is one version, ``v1``: no other prefix answers.
"""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from apikeys.api import ApiV1View
from apikeys.scopes import SCOPES
from tests import factories
from tests.crm.test_v1_contract import one_of_each
from tests.openapi.conftest import served_document
from tests.security.urlconf import METHODS, fill, routes

pytestmark = pytest.mark.django_db
DOCUMENT_ITSELF = ("api/v1/schema/", "api/v1/docs/")


def _path(route: str) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def test_every_v1_route_is_documented_and_every_operation_is_a_route():
    document = served_document()
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    served = set()
    for route in routes("api/v1/"):
        if route.starts(*DOCUMENT_ITSELF):
            continue
        assert route.view_class is not None, f"/{route.route}"
        assert issubclass(route.view_class, ApiV1View), f"/{route.route}: not key-checked"
        served |= {(_path(route.route), method) for method in route.methods}
    assert served == documented, {"undocumented": served - documented, "not served": documented - served}


@pytest.fixture
def key_and_ids(workspace, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    _, key = factories.make_key(workspace, scopes=list(SCOPES))
    return key, one_of_each(workspace)


def test_methods_the_document_does_not_list_answer_405(key_and_ids):
    key, ids = key_and_ids
    document = served_document()
    client = APIClient()
    checked = 0
    for route in routes("api/v1/"):
        if route.starts(*DOCUMENT_ITSELF):
            continue
        listed = set(document["paths"][_path(route.route)])
        for method in (*METHODS, "options", "trace"):
            if method in listed:
                continue
            response = client.generic(method.upper(), fill(route.route, ids), HTTP_AUTHORIZATION=f"Bearer {key}")
            assert response.status_code == 405, (method, route.route, response.content)
            assert response.json()["error"]["code"] == "method_not_allowed"
            assert set(response.json()) == {"error"}  # nothing about the view (DRF would describe it)
            checked += 1
    assert checked >= 30


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/",
        "/api/v1/contacts/",  # a trailing slash is another path
        "/api/v1/keys",
        "/api/v1/workspaces",
        "/api/v1/admin",
        "/api/v1/users",
        "/api/v2/contacts",
        "/api/v0/contacts",
        "/api/beta/contacts",
        "/api/internal/contacts",
        "/api/v1/contacts.json",
        "/api/v1/schema.json",
    ],
)
def test_undocumented_paths_are_404(key_and_ids, path):
    key, _ = key_and_ids
    response = APIClient().get(path, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_document_describes_only_v1_and_one_server_version():
    document = served_document()
    assert all(path.startswith("/api/v1/") for path in document["paths"])
    assert document["info"]["version"] == "1.0.0"

"""OWASP API3:2023 Broken Object Property Level Authorization — what a client may write, and what it may read.

Writes: no body can set a field the server owns (``id``, ``workspace``, ``source``,
timestamps, a key's digest…). Every documented request schema is closed
(``additionalProperties: false``) and names none of them, and every write endpoint of
every surface, called for real, refuses them by name.

Reads: no answer carries a digest, a full key (except the one creation answer), a
signing secret (except the answer that made it), a Twilio auth token, an identity
secret (except the answer that made it), another visitor's token, or the ciphertext of
any of these. Checked on the OpenAPI document's response schemas by property name, and
on the real answers of every GET route of the in-app API, the public API, the widget,
the pages and the admin by value.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from apikeys.models import ApiKey
from assistants.models import Assistant
from tests import factories
from tests.openapi.conftest import served_document
from tests.security.urlconf import UNSAFE, routes
from tests.security.world import get_answers, write
from tests.sms import twilio
from tests.widget.conftest import Visitor
from webhooks.models import HookSubscription
from widget.models import VisitorSession

pytestmark = pytest.mark.django_db

# Fields the server owns, somewhere: a write naming any of them is refused by name.
SERVER_OWNED = ("id", "workspace", "workspace_id", "source", "created_at", "updated_at", "digest", "created_by")

# --- writes: the documented request schemas


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _object_schemas(document: dict[str, Any], schema: dict[str, Any], seen: set[int] | None = None):
    """Every object schema reachable from ``schema`` (properties, items, compositions)."""
    seen = set() if seen is None else seen
    schema = _resolve(document, schema)
    if id(schema) in seen:
        return
    seen.add(id(schema))
    if "properties" in schema:
        yield schema
    for sub in schema.get("properties", {}).values():
        yield from _object_schemas(document, sub, seen)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _object_schemas(document, schema[key], seen)
    for key in ("allOf", "oneOf", "anyOf"):
        for sub in schema.get(key, []):
            yield from _object_schemas(document, sub, seen)


def _request_bodies(document: dict[str, Any]):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for content in operation.get("requestBody", {}).get("content", {}).values():
                yield f"{method.upper()} {path}", content["schema"]


def test_every_documented_request_body_is_closed_and_owns_nothing_of_the_servers():
    document = served_document()
    bodies = list(_request_bodies(document))
    assert len(bodies) >= 7
    for operation, schema in bodies:
        for obj in _object_schemas(document, schema):
            assert obj.get("additionalProperties") is False, f"{operation}: an open object"
            owned = set(obj["properties"]) & set(SERVER_OWNED)
            assert not owned, f"{operation}: the client may set {owned}"
            read_only = [name for name, prop in obj["properties"].items() if _resolve(document, prop).get("readOnly")]
            assert not read_only, f"{operation}: read-only {read_only} in a request body"


# --- writes: every write endpoint of every surface, for real

# Writes that take no body at all: what they do is in the URL.
NO_BODY = {
    ("delete", "api/v1/contacts/<str:contact_id>"),
    ("delete", "api/v1/hooks/<str:hook_id>"),
    ("delete", "api/members/<int:membership_id>"),
    ("delete", "api/assistants/<str:assistant_id>"),
    ("post", "api/workspaces/<int:workspace_id>/switch"),
    ("post", "api/assistants/<str:assistant_id>/identity-secret"),
}
# Twilio's form posts: Twilio adds fields over time, so unknown ones are ignored there on
# purpose, and nothing a Twilio field names is a column the request could set (tests/sms/).
# GitHub's secret-scanning reports are a signed list, refused unsigned before anything is
# read (tests/apikeys/test_secret_scanning.py).
FORM_POSTS = ("api/sms/", "api/secret-scanning/")
# The pages are Django forms: a field a form does not declare is never read.
PAGES = ("settings/", "workspaces/", "accounts/", "admin/", "oidc/")


ALL_WRITES = [(route, method) for route in routes("api/") for method in route.methods if method in UNSAFE]
WRITES = [
    pytest.param(route, method, id=f"{method} /{route.route}")
    for route, method in ALL_WRITES
    if not route.starts(*FORM_POSTS) and (method, route.route) not in NO_BODY
]


def test_the_write_tables_are_the_urlconfs():
    assert len(WRITES) >= 20
    known = {(method, route.route) for route, method in ALL_WRITES}
    assert known >= NO_BODY, f"stale rows: {NO_BODY - known}"


@pytest.mark.parametrize(("route", "method"), WRITES)
def test_every_write_refuses_server_owned_fields_by_name(world, route, method):
    response = write(world, route, method, dict.fromkeys(SERVER_OWNED, "x"))
    assert response.status_code == 400, response.content
    named = response.json()["error"]["fields"]
    assert set(SERVER_OWNED) <= set(named), named


def test_a_key_cannot_be_moved_or_forged_through_any_form(owner, workspace):
    """Settings → API Keys: the create form ignores everything it does not declare (workspace, digest…)."""
    stranger = factories.make_workspace()
    client = Client()
    client.force_login(owner)
    form = client.get("/settings/api-keys/new/").content.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', form).group(1)
    response = client.post(
        "/settings/api-keys/new/",
        {
            "form_token": token,
            "name": "Zapier",
            "kind": "secret",
            "scopes": ["contacts:read"],
            "expiry": "never",
            "workspace": stranger.pk,
            "digest": "0" * 64,
            "created_by": 1,
        },
    )
    assert response.status_code == 201, response.content[:300]
    key = ApiKey.objects.get(name="Zapier")
    assert key.workspace == workspace
    assert key.digest != "0" * 64
    assert not ApiKey.objects.filter(workspace=stranger).exists()


# --- reads: the documented response schemas, by property name

# Names no answer may carry, anywhere in it. The one exception is each secret's creation answer.
SECRET_NAMES = re.compile(
    r"^(digest|key_digest|secret|signing_secret|secret_encrypted|twilio_auth_token|auth_token|identity_secret|"
    r"session_token|token|password|plain|api_key|full_key)$"
)
CREATION_ANSWERS = {  # the signing secret, shown once: when made, and when rolled
    ("POST /api/v1/hooks", "201", "secret"),
    ("POST /api/v1/hooks/{hook_id}/roll-secret", "200", "secret"),
}


def _response_bodies(document: dict[str, Any]):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation.get("responses", {}).items():
                for content in response.get("content", {}).values():
                    yield f"{method.upper()} {path}", status, content["schema"]


def test_no_documented_answer_has_a_secret_property_except_its_creation():
    document = served_document()
    found = {
        (operation, status, name)
        for operation, status, schema in _response_bodies(document)
        for obj in _object_schemas(document, schema)
        for name in obj["properties"]
        if SECRET_NAMES.match(name)
    }
    assert found == CREATION_ANSWERS


# --- reads: every real answer, by value


@dataclass
class Secrets:
    """Every secret of one workspace, plain and as stored, and a second visitor's token."""

    values: dict[str, str]

    def found_in(self, text: str) -> list[str]:
        return [name for name, value in self.values.items() if value and value in text]


@pytest.fixture
def secrets_world(world, workspace, owner, sms_assistant) -> Secrets:
    assistant = Assistant.objects.get(public_id=world.ids["assistant_id"])
    secret_key, secret_plain = factories.make_key(workspace, scopes=["contacts:read"])
    publishable, publishable_plain = factories.make_key(workspace, kind=ApiKey.Kind.PUBLISHABLE)
    hook = APIClient().post(
        "/api/v1/hooks",
        {"target_url": "http://127.0.0.1:9/hook", "event": "ticket.created"},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {world.key}",
        HTTP_IDEMPOTENCY_KEY="make-the-hook-once",  # its stored answer holds the secret too (encrypted)
    )
    hook_secret = hook.json()["secret"]
    identity = world.owner_client.post(
        f"/api/assistants/{assistant.public_id}/identity-secret", {}, content_type="application/json"
    )
    identity_secret = identity.json()["identity_secret"]
    sms_assistant.refresh_from_db()
    assistant.refresh_from_db()
    other_visitor = Visitor(client=Client(), assistant=world.visitor.assistant)
    other_token = other_visitor.start()["session_token"]
    other_session = VisitorSession.objects.exclude(pk=VisitorSession.objects.order_by("pk").first().pk).last()
    stored_hook = HookSubscription.objects.get(public_id=hook.json()["id"])
    return Secrets(
        {
            "secret key": secret_plain,
            "secret key digest": secret_key.digest,
            "every-scope key": world.key,
            "publishable key": publishable_plain,
            "publishable key digest": publishable.digest,
            "signing secret": hook_secret,
            "signing secret, base64 part": hook_secret.removeprefix("whsec_"),
            "signing secret ciphertext": stored_hook.secret_encrypted,
            "Twilio auth token": twilio.AUTH_TOKEN,
            "Twilio auth token ciphertext": sms_assistant.twilio_auth_token_encrypted,
            "identity secret": identity_secret,
            "identity secret ciphertext": assistant.identity_secret_encrypted,
            "another visitor's token": other_token,
            "another visitor's token digest": other_session.digest if other_session else "",
            "visitor token of the caller": world.visitor.token,
        }
    )


def test_no_answer_anywhere_shows_a_secret(world, secrets_world, sms_assistant):
    answers = get_answers(world)
    assert len(answers) >= 40
    caller_may_see = {"visitor token of the caller"}  # nobody echoes it either, but it is the caller's own
    leaks = []
    for url, response in answers:
        assert response.status_code < 500, (url, response.status_code)
        text = response.content.decode(errors="replace") + json.dumps(dict(response.headers))
        leaked = [name for name in secrets_world.found_in(text) if name not in caller_may_see]
        if leaked:
            leaks.append(f"{url}: {leaked}")
    assert not leaks, "\n".join(leaks)

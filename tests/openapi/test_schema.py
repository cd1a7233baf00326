"""The OpenAPI document of /api/v1/: complete, valid, and the same shapes the views answer.

- ``spectacular --validate --fail-on-warn`` is clean (a view missing its operation_id or
  response serializer fails here, and in CI);
- every ApiV1View method of the URL conf is an operation, and nothing else is (not the in-app API);
- each operation names its scope (security roles, ``x-required-scope``, description) and
  documents every error of the check chain, the rate-limit headers and ``Retry-After``;
- the documented schemas are exactly what the payload functions return (keys and types),
  so the two cannot drift apart;
- the schema and the docs need no key, and the docs page loads only same-origin scripts.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import jsonschema
import pytest
from django.core.management import call_command
from django.urls import path as url_path
from django.urls import reverse
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.test import APIClient

from apikeys.api import ApiV1View
from apikeys.scopes import READ_WRITE, SCOPES, is_write
from assistants.models import Conversation, Message
from assistants.payloads import assistant_payload, conversation_payload, message_payload
from crm.payloads import contact_payload, ticket_payload
from tests import factories
from tests.crm.test_v1_contract import METHODS, v1_routes

pytestmark = pytest.mark.openapi
PARAM = re.compile(r"<(?:\w+:)?(\w+)>")


def operations(document: dict[str, Any]):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def component(document: dict[str, Any], name: str) -> dict[str, Any]:
    return document["components"]["schemas"][name]


def validate(document: dict[str, Any], name: str, instance: Any) -> None:
    """``instance`` against ``#/components/schemas/<name>`` (JSON Schema 2020-12, as OpenAPI 3.1 uses)."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(instance)


def test_generation_is_valid_and_warning_free(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_the_document_is_the_public_api_and_all_of_it(document):
    assert document["openapi"] == "3.1.0"
    documented = {(path, method) for path, method, _ in operations(document)}
    expected = {
        ("/" + PARAM.sub(r"{\1}", route), method)
        for route, view in v1_routes()
        for method in METHODS
        if hasattr(view, method)
    }
    assert documented == expected
    assert all(path.startswith("/api/v1/") for path, _ in documented)
    assert not any(path.startswith(("/api/v1/schema", "/api/v1/docs")) for path, _ in documented)
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)+", operation_id) for operation_id in ids), ids


def test_both_auth_schemes_are_defined(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes["BearerAuth"]["type"] == "http"
    assert schemes["BearerAuth"]["scheme"] == "bearer"
    assert schemes["ApiKeyHeader"] == {**schemes["ApiKeyHeader"], "type": "apiKey", "in": "header", "name": "X-Api-Key"}


def scopes_by_operation() -> dict[tuple[str, str], str | None]:
    return {
        ("/" + PARAM.sub(r"{\1}", route), method): view.required_scopes[method.upper()]
        for route, view in v1_routes()
        for method in METHODS
        if hasattr(view, method)
    }


def test_each_operation_names_its_scope_and_both_schemes(document):
    scopes = scopes_by_operation()
    for path, method, operation in operations(document):
        scope = scopes[(path, method)]
        roles = [scope] if scope else []
        assert operation["security"] == [{"BearerAuth": roles}, {"ApiKeyHeader": roles}], (path, method)
        assert operation["x-required-scope"] == scope
        assert scope is None or f"**Scope:** `{scope}`" in operation["description"]
        if scope and is_write(scope):
            assert "plan_upgrade_required" in operation["description"]


def examples(response: dict[str, Any]) -> dict[str, Any]:
    return {
        example["value"]["error"]["code"]: example["value"]
        for example in response["content"]["application/json"]["examples"].values()
    }


def test_each_operation_documents_the_errors_it_can_answer(document):
    scopes = scopes_by_operation()
    for path, method, operation in operations(document):
        responses, scope = operation["responses"], scopes[(path, method)]
        where = (path, method)
        for status in ("401", "403", "429"):
            assert responses[status]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorResponse"
            }, where
        assert set(examples(responses["401"])) == {
            "api_key_required",
            "invalid_api_key",
            "api_key_revoked",
            "api_key_expired",
        }
        forbidden = examples(responses["403"])
        assert {"permission_denied", "ip_not_allowed", "origin_not_allowed", "workspace_inactive"} <= set(forbidden)
        if scope:
            assert forbidden["missing_scope"]["error"]["required_scope"] == scope
        assert ("plan_upgrade_required" in forbidden) == bool(scope and is_write(scope)), where
        assert responses["429"]["headers"]["Retry-After"]["required"] is True
        has_body = method in ("post", "put", "patch")
        has_query = any(p["in"] == "query" for p in operation.get("parameters", []))
        assert ("400" in responses) == (has_body or has_query), where
        assert ("404" in responses) == ("{" in path), where
        assert ("413" in responses) == has_body, where
        if has_body:
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert component(document, ref.rsplit("/", 1)[1])["additionalProperties"] is False, where
        for status, response in responses.items():
            headers = response["headers"]
            assert headers["X-Request-Id"]["required"] is True
            if status < "300" or status in ("400", "404", "409"):
                for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
                    assert headers[name]["required"] is True, (where, status, name)
            if "X-RateLimit-Limit" in headers:  # the IETF fields go wherever X-RateLimit-* goes
                for name in ("RateLimit-Policy", "RateLimit"):
                    assert headers[name]["required"] is headers["X-RateLimit-Limit"]["required"], (where, status)
                    assert headers[name]["schema"]["type"] == "string"
                assert headers["RateLimit-Policy"]["schema"]["pattern"] == r'^"key";q=\d+;w=\d+$'
                assert headers["RateLimit"]["schema"]["pattern"] == r'^"key";r=\d+;t=\d+$'
            if status >= "400":
                assert response["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/ErrorResponse"
        assert any(status < "300" for status in responses), where


def test_conflicts_name_the_existing_object(document):
    conflict = document["paths"]["/api/v1/contacts"]["post"]["responses"]["409"]
    assert examples(conflict)["conflict"]["error"]["existing_id"].startswith("ct_")
    assert "409" in document["paths"]["/api/v1/contacts/{contact_id}"]["patch"]["responses"]
    assert "409" in document["paths"]["/api/v1/conversations/{conversation_id}/messages"]["post"]["responses"]


def test_lists_document_their_envelope_and_parameters(document):
    lists = {
        "/api/v1/contacts": ("ContactPage", {"email", "phone", "updated_since"}),
        "/api/v1/tickets": ("TicketPage", {"status", "updated_since"}),
        "/api/v1/assistants": ("AssistantPage", set()),
        "/api/v1/conversations": ("ConversationPage", {"assistant", "channel", "updated_since"}),
        "/api/v1/conversations/{conversation_id}/messages": ("MessagePage", set()),
    }
    for path, (page, filters) in lists.items():
        operation = document["paths"][path]["get"]
        assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(f"/{page}")
        query = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
        assert set(query) == {"limit", "cursor"} | filters
        # Capped, not refused: no "maximum" (schemathesis would expect a 400 above it), the cap in words.
        assert "maximum" not in query["limit"]["schema"]
        assert "capped at 100" in query["limit"]["description"]
        assert query["cursor"]["schema"]["format"] == "cursor"
        envelope = component(document, page)
        assert set(envelope["properties"]) == set(envelope["required"]) == {"next", "previous", "results"}


# --- the documented shapes are the payloads' shapes


@pytest.fixture
def payloads(db):
    """One real payload of each documented object, by component name."""
    workspace = factories.make_workspace()
    assistant = factories.make_assistant(workspace)
    contact = factories.make_contact(workspace, phone="+14155550100")
    conversation = factories.make_conversation(assistant, contact=contact, channel=Conversation.Channel.SMS)
    message = Message.objects.create(
        conversation=conversation, role=Message.Role.AGENT, body="Hello", delivery_status="queued"
    )
    bare = Message.objects.create(
        conversation=factories.make_conversation(assistant, visitor_id="v_1"), role=Message.Role.USER, body="Hi"
    )
    return {
        "Contact": [contact_payload(contact), contact_payload(factories.make_contact(workspace))],
        "Ticket": [
            ticket_payload(factories.make_ticket(workspace, contact=contact)),
            ticket_payload(factories.make_ticket(workspace)),
        ],
        "Assistant": [assistant_payload(assistant)],
        "Conversation": [conversation_payload(conversation), conversation_payload(bare.conversation)],
        "Message": [message_payload(message), message_payload(bare)],
    }


def test_each_payload_has_exactly_the_documented_fields(document, payloads):
    for name, instances in payloads.items():
        schema = component(document, name)
        for payload in instances:
            assert set(payload) == set(schema["properties"]) == set(schema["required"]), name
            validate(document, name, payload)


def test_real_responses_match_their_documented_schema(document, workspace):
    contact = factories.make_contact(workspace)
    _, plain = factories.make_key(workspace, scopes=READ_WRITE)
    _, reader = factories.make_key(workspace, scopes=["tickets:read"])
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {plain}")
    me = client.get("/api/v1/me").json()
    validate(document, "Me", me)
    assert set(me) == set(component(document, "Me")["properties"])
    assert set(me["key"]) == set(component(document, "MeKey")["properties"])
    assert set(me["workspace"]) == set(component(document, "MeWorkspace")["properties"])
    validate(document, "ContactPage", client.get("/api/v1/contacts").json())
    validate(document, "Contact", client.get(f"/api/v1/contacts/{contact.public_id}").json())
    errors = [
        client.get("/api/v1/contacts/ct_nope"),
        client.get("/api/v1/contacts?limit=abc"),
        client.post("/api/v1/contacts", {"workspace": 1}, format="json"),
        client.post("/api/v1/contacts", {"email": contact.email}, format="json"),
        APIClient(HTTP_AUTHORIZATION=f"Bearer {reader}").get("/api/v1/contacts"),
        APIClient().get("/api/v1/me"),
    ]
    assert [r.status_code for r in errors] == [404, 400, 400, 409, 403, 401]
    detail = component(document, "ErrorDetail")
    for response in errors:
        validate(document, "ErrorResponse", response.json())
        assert set(response.json()["error"]) <= set(detail["properties"])


# --- served without a key; the docs page under the CSP


def test_the_schema_is_served_without_a_key():
    response = APIClient().get("/api/v1/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json") or response[
        "Content-Type"
    ].startswith("application/json")
    assert response.json()["info"]["title"] == "Parley API"
    yaml = APIClient().get("/api/v1/schema/?format=yaml")
    assert yaml.status_code == 200
    assert yaml.content.startswith(b"openapi: 3.1.0")


class Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str | None] = []
        self.inline: list[str] = []
        self.links: list[str] = []
        self.styles = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            self.scripts.append(values.get("src"))
            self._in_script = True
        elif tag == "link":
            self.links.append(values.get("href") or "")
        elif tag == "style":
            self.styles += 1
        self.inline.extend(value or "" for name, value in attrs if name.startswith("on") or name == "style")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(data)


def test_the_docs_load_only_same_origin_scripts_and_no_inline_code():
    client = APIClient()
    response = client.get(reverse("api-v1-docs"))
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assets = Assets()
    assets.feed(response.content.decode())
    assert assets.scripts, "no script at all?"
    assert all(src and src.startswith("/") and not src.startswith("//") for src in assets.scripts), assets.scripts
    assert assets.inline == []
    assert assets.styles == 0
    assert all(href.startswith("/") and not href.startswith("//") for href in assets.links), assets.links
    for src in [*assets.scripts, *assets.links]:
        asset = client.get(src)
        assert asset.status_code == 200, src
        body = b"".join(asset.streaming_content) if asset.streaming else asset.content
        assert b"cdn.jsdelivr.net" not in body, src
    init = client.get(next(src for src in assets.scripts if src and "script" in src.split("?", 1)[-1]))
    assert init["Content-Type"].startswith("application/javascript")
    assert b'"/api/v1/schema/' in init.content
    assert b'"validatorUrl": null' in init.content


def test_every_scope_appears_in_the_bearer_scheme(document):
    description = document["components"]["securitySchemes"]["BearerAuth"]["description"]
    assert all(f"`{scope}`" in description for scope in SCOPES)


def test_a_new_v1_view_without_an_operation_id_fails_generation():
    class Undeclared(ApiV1View):
        required_scopes = {"GET": "contacts:read"}

        @extend_schema(responses=None)
        def get(self, request):
            return Response({})

    GENERATOR_STATS.reset()
    SchemaGenerator(patterns=[url_path("api/v1/undeclared", Undeclared.as_view())]).get_schema(public=True)
    assert any("declare @extend_schema(operation_id=" in message for message in GENERATOR_STATS._warn_cache), (
        GENERATOR_STATS._warn_cache
    )
    GENERATOR_STATS.reset()

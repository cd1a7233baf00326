"""Origins and CORS of the widget endpoints (SPEC §5): the assistant's list, the key's, never ``null``.

CORS answers (preflights included) name the allowed origin, never ``*``, never with
credentials. A refused origin gets no preflight approval; it may read only the 403
of ``config`` (a simple GET), so the widget can say why it does not start.
"""

from __future__ import annotations

import pytest

from tests import factories
from tests.widget.conftest import SITE

pytestmark = pytest.mark.django_db
EVIL = "https://evil.example.com"


def preflight(client, url, origin, method="POST", headers="authorization, content-type"):
    return client.options(
        url,
        headers={"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers},
    )


@pytest.mark.parametrize("endpoint", ["session", "chat", "history", "lead", "feedback"])
def test_a_preflight_from_an_allowed_origin_is_approved(visitor, endpoint):
    response = preflight(visitor.client, visitor.url(endpoint), SITE)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == SITE
    assert "authorization" in response.headers["Access-Control-Allow-Headers"]
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "origin" in response.headers["Vary"].lower()


@pytest.mark.parametrize("origin", [EVIL, "null", "https://shop.example.com.evil.com", "http://shop.example.com"])
@pytest.mark.parametrize("endpoint", ["config", "session", "chat", "history", "lead", "feedback"])
def test_a_preflight_from_a_refused_origin_is_not_approved(visitor, endpoint, origin):
    response = preflight(visitor.client, visitor.url(endpoint), origin)
    assert "Access-Control-Allow-Origin" not in response.headers


def test_requests_from_a_refused_origin_are_403_origin_not_allowed(visitor):
    visitor.start()
    visitor.origin = EVIL
    for response in (visitor.post("session"), visitor.post("chat", {"message": "hi"}), visitor.get("history")):
        assert response.status_code == 403
        error = response.json()["error"]
        assert (error["code"], error["message"]) == ("origin_not_allowed", "Request origin is not allowed.")
        assert "Access-Control-Allow-Origin" not in response.headers


def test_config_tells_a_refused_origin_why_and_nothing_else(visitor):
    visitor.origin = EVIL
    response = visitor.get("config")
    assert response.status_code == 403
    assert response.json()["error"]["hint"] == f"Add {EVIL} to the assistant's allowed origins."
    assert response.headers["Access-Control-Allow-Origin"] == EVIL  # readable: the widget shows the refusal
    assert "name" not in response.json()


def test_answers_to_an_allowed_origin_carry_cors_headers(visitor):
    response = visitor.get("config")
    assert response.headers["Access-Control-Allow-Origin"] == SITE
    assert "Retry-After" in response.headers["Access-Control-Expose-Headers"]


def test_a_missing_origin_fails_a_set_list_and_the_referer_counts(visitor):
    visitor.origin = None
    assert visitor.get("config").status_code == 403
    assert visitor.get("config", Referer=f"{SITE}/checkout?step=2").status_code == 200


def test_the_null_origin_is_refused_even_when_every_origin_is_allowed(workspace):
    assistant = factories.make_assistant(workspace, widget_enabled=True, allowed_origins=[])
    from django.test import Client

    client = Client()
    url = f"/api/widget/{assistant.public_id}/config"
    assert client.get(url, headers={"Origin": "https://anyone.example"}).status_code == 200
    assert client.get(url).status_code == 200  # no origin: a server or curl
    response = client.get(url, headers={"Origin": "null"})
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Origin" not in preflight(client, url, "null").headers


def test_a_wildcard_allows_subdomains_not_the_bare_domain(workspace):
    from django.test import Client

    assistant = factories.make_assistant(workspace, widget_enabled=True, allowed_origins=["https://*.example.com"])
    client = Client()
    url = f"/api/widget/{assistant.public_id}/session"
    assert preflight(client, url, "https://shop.example.com").headers["Access-Control-Allow-Origin"] == (
        "https://shop.example.com"
    )
    assert "Access-Control-Allow-Origin" not in preflight(client, url, "https://example.com").headers
    assert (
        client.post(url, {}, content_type="application/json", headers={"Origin": "https://example.com"}).status_code
        == 403
    )


def test_a_changed_allowlist_applies_on_the_next_request(visitor, widget_assistant):
    assert visitor.get("config").status_code == 200  # now cached
    widget_assistant.allowed_origins = ["https://new.example.com"]
    widget_assistant.save()
    assert visitor.get("config").status_code == 403
    assert "Access-Control-Allow-Origin" not in preflight(visitor.client, visitor.url("session"), SITE).headers


def test_the_tickets_preflight_is_answered_to_any_origin_and_the_view_decides(client, widget_assistant):
    response = preflight(client, "/api/widget/tickets/create", EVIL)
    assert response.headers["Access-Control-Allow-Origin"] == EVIL
    assert "Access-Control-Allow-Origin" not in preflight(client, "/api/widget/tickets/create", "null").headers


def test_other_api_paths_get_no_cors(client, secret_key):
    response = client.get("/api/v1/me", headers={"Origin": SITE, "Authorization": f"Bearer {secret_key[1]}"})
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Origin" not in preflight(client, "/api/v1/contacts", SITE).headers

"""OWASP API4:2023 Unrestricted Resource Consumption — nothing anyone can call is without a bound.

- The request limits, on every JSON write of every surface: a body over 1 MiB is 413,
  JSON deeper than 32 levels or an object of more than 1,000 keys is 400, a header
  value over 8 KiB is 400 — before any view.
- Pagination: every paginated list gives at most 100 rows, whatever ``?limit=`` asks.
- A rate limit on every route anyone can reach without signing in. Each route of the URL
  conf is tried over its limit (the settings lowered): ``PUBLIC_RATE_LIMIT`` per IP for
  everything nobody else counts; the widget's, Twilio's and the public API's own limits
  for theirs (one row each); and the few routes left unlimited on purpose say why, and
  prove they cost nothing. A new route under an exempt prefix without a row fails.
- The OpenAPI document is generated once, whatever the query string says.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys.scopes import SCOPES
from assistants.models import Assistant, Conversation, Message
from core import api_docs
from core.models import Event
from crm.models import Contact, Ticket
from tests import factories
from tests.crm.test_v1_contract import CASES as V1_CASES
from tests.crm.test_v1_contract import call as v1_call
from tests.crm.test_v1_contract import one_of_each
from tests.security.test_api3_property_level import WRITES
from tests.security.urlconf import Route, fill, routes
from tests.security.world import World, write
from tests.sms import twilio
from webhooks.models import HookSubscription

pytestmark = pytest.mark.django_db


# --- SPEC §10 limits, on every JSON write


def _deep(levels: int) -> Any:
    value: Any = {"x": 1}
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(("route", "method"), WRITES)
def test_every_json_write_has_the_body_limits(world, route, method):
    too_deep = write(world, route, method, {"extra": _deep(40)})
    assert too_deep.status_code == 400
    assert too_deep.json()["error"]["message"] == "The JSON body is nested deeper than 32 levels."
    too_wide = write(world, route, method, {f"k{i}": i for i in range(1001)})
    assert too_wide.status_code == 400
    assert too_wide.json()["error"]["message"] == "A JSON object in the body has more than 1000 keys."
    too_big = write(world, route, method, {"padding": "x" * (1024 * 1024)})
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "payload_too_large"


def test_a_header_over_8_kib_is_refused_on_every_surface(world):
    for response in [
        APIClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {world.key}", HTTP_X_PADDING="x" * 9000),
        world.owner_client.get("/api/me", HTTP_X_PADDING="x" * 9000),
        world.visitor.get("history", **{"X-Padding": "x" * 9000}),
        Client().post("/api/sms/webhook/ast_x", HTTP_X_PADDING="x" * 9000),
        Client().get("/accounts/login/", HTTP_X_PADDING="x" * 9000),
    ]:
        assert response.status_code == 400


# --- pagination: at most 100 rows a page, on every paginated list


def _fill_contacts(w: World, n: int) -> None:
    Contact.objects.bulk_create(
        Contact(workspace_id=w.ids["workspace_id"], email=f"c{i}@example.com") for i in range(n)
    )


def _fill_tickets(w: World, n: int) -> None:
    Ticket.objects.bulk_create(Ticket(workspace_id=w.ids["workspace_id"], subject=f"T{i}") for i in range(n))


def _fill_assistants(w: World, n: int) -> None:
    Assistant.objects.bulk_create(Assistant(workspace_id=w.ids["workspace_id"], name=f"A{i}") for i in range(n))


def _fill_conversations(w: World, n: int) -> None:
    assistant = Assistant.objects.get(public_id=w.ids["assistant_id"])
    owner = factories.owner_of(assistant.workspace)
    Conversation.objects.bulk_create(
        Conversation(workspace=assistant.workspace, assistant=assistant, channel="app", user=owner) for _ in range(n)
    )


def _fill_messages(w: World, n: int) -> None:
    for conversation_id in (w.ids["conversation_id"], w.ids["chat_id"]):
        conversation = Conversation.objects.get(public_id=conversation_id)
        Message.objects.bulk_create(Message(conversation=conversation, role="user", body=f"m{i}") for i in range(n))


def _fill_hooks(w: World, n: int) -> None:
    HookSubscription.objects.bulk_create(
        HookSubscription(workspace_id=w.ids["workspace_id"], event="contact.created", target_url="https://x.example/")
        for _ in range(n)
    )


def _fill_events(w: World, n: int) -> None:
    Event.objects.bulk_create(
        Event(workspace_id=w.ids["workspace_id"], type="contact.created", data={}) for _ in range(n)
    )


PAGINATED = {
    "api/v1/contacts": _fill_contacts,
    "api/v1/tickets": _fill_tickets,
    "api/v1/assistants": _fill_assistants,
    "api/v1/conversations": _fill_conversations,
    "api/v1/conversations/<str:conversation_id>/messages": _fill_messages,
    "api/v1/hooks": _fill_hooks,
    "api/v1/events": _fill_events,
    "api/chats": _fill_conversations,
    "api/chats/<str:chat_id>/messages": _fill_messages,
}
# Lists answered whole, and what bounds them.
UNPAGINATED = {
    "api/members": "memberships: each made by an owner or admin, one invitation at a time",
    "api/assistants": "the workspace's assistants, made by its owners and admins",
    "api/assistants/<str:assistant_id>/grants": "grants of one private assistant, given one at a time by its managers",
    "api/me": "the user's own workspaces",
    "api/widget/<str:assistant_id>/qnas": "the assistant's FAQ: at most 200 entries",
    "api/widget/<str:assistant_id>/history": "the latest 200 messages of the conversation",
    "api/widget/<str:assistant_id>/search": "at most 10 results",
}


def _list_get(w: World, route: Route, params: dict[str, Any]):
    if route.starts("api/widget/"):
        url = fill(route.route, {"assistant_id": w.visitor.assistant.public_id})
        return w.visitor.client.get(url, {**params, "q": "x"}, headers=w.visitor.headers())
    url = fill(route.route, w.ids)
    if route.starts("api/v1/"):
        return APIClient().get(url, params, HTTP_AUTHORIZATION=f"Bearer {w.key}")
    return w.owner_client.get(url, params)


LIST_ROUTES = [r for r in routes("api/") if "get" in r.methods and not r.starts("api/v1/schema/", "api/v1/docs/")]


def test_every_list_is_paginated_or_says_what_bounds_it(world):
    unclassified = []
    for route in LIST_ROUTES:
        body = _list_get(world, route, {}).json()
        if isinstance(body, dict) and "results" in body:
            paginated = "next" in body
            if (paginated and route.route not in PAGINATED) or (not paginated and route.route not in UNPAGINATED):
                unclassified.append(f"/{route.route} ({'paginated' if paginated else 'whole'}): add a row")
    assert not unclassified, "\n".join(unclassified)


@pytest.mark.parametrize("route", [r for r in LIST_ROUTES if r.route in PAGINATED], ids=lambda r: r.route)
def test_a_page_is_at_most_100_rows_whatever_limit_says(world, route):
    PAGINATED[route.route](world, 101)
    for limit in ("1000", "101", "100", "1000000000000000000000"):
        page = _list_get(world, route, {"limit": limit}).json()
        assert len(page["results"]) == 100, limit
        assert page["next"]


# --- a limit on every route anyone can reach without signing in

# Answered to anyone, never limited, on purpose; each must prove it costs (nearly) nothing.
UNLIMITED = {
    "healthz": ("the load balancer's liveness probe: touches nothing", 0),
    "readyz": ("the load balancer's readiness probe: 4 indexed queries, no writes", 4),
    "metrics": ("only METRICS_ALLOWED_IPS are answered; anyone else gets a 404 that touches nothing", 0),
}
# Routes with limits of their own, one row each: where and what they count.
WIDGET_PER_IP = {"config": "config", "session": "session", "qnas": "qnas", "search": "search", "create": "tickets"}
WIDGET_PER_TOKEN = {"chat": "chat", "history": "history", "lead": "lead", "feedback": "feedback"}
# URLs for allauth's regex routes.
REGEX_URLS = {
    "accounts/^confirm-email/(?P<key>[-:\\w]+)/$": "/accounts/confirm-email/abc/",
    "accounts/^password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$": "/accounts/password/reset/key/1-abc/",
}


def _anonymous_url(route: Route) -> str:
    if "^" in route.route:
        assert route.route in REGEX_URLS, f"/{route.route}: add a URL to REGEX_URLS"
        return REGEX_URLS[route.route]
    return fill(route.route, {name: 1 if f"<int:{name}>" in route.route else "x1" for name in route.params})


EXEMPT = ("healthz", "readyz", "metrics", "api/widget/", "api/sms/")
BACKSTOPPED = [r for r in routes() if not r.starts(*EXEMPT) and not (r.starts("admin/") and r.route != "admin/")]


def test_the_exempt_prefixes_are_the_settings():
    from django.conf import settings

    assert tuple("/" + prefix for prefix in EXEMPT) == tuple(settings.PUBLIC_RATE_LIMIT_EXEMPT)


@pytest.mark.parametrize("route", BACKSTOPPED, ids=lambda r: r.route)
def test_everything_else_is_limited_per_ip_for_anyone_not_signed_in(settings, route):
    """The login, sign-up and password pages, SSO, the API's schema and docs, the demo page, anonymous
    calls of the APIs and the admin (its index: every admin page is behind the same login): PUBLIC_RATE_LIMIT
    per client IP, whatever the method (each route is tried with its first)."""
    settings.PUBLIC_RATE_LIMIT = "2/m"
    url = _anonymous_url(route)
    method = route.methods[0]
    for _ in range(2):
        assert getattr(Client(), method)(url).status_code != 429
    limited = getattr(Client(), method)(url)
    assert limited.status_code == 429, (url, limited.status_code)
    assert int(limited["Retry-After"]) > 0
    if route.starts("api/"):
        assert limited.json()["error"]["code"] == "rate_limited"
    assert getattr(Client(REMOTE_ADDR="198.51.100.20"), method)(url).status_code != 429  # per IP


def test_signed_in_users_and_api_keys_are_not_counted_by_the_public_limit(settings, owner, workspace):
    settings.PUBLIC_RATE_LIMIT = "1/m"
    client = Client()
    client.force_login(owner)
    _, key = factories.make_key(workspace, scopes=["contacts:read"])
    for _ in range(3):
        assert client.get("/api/me").status_code == 200
        assert APIClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200


def test_unlimited_routes_are_exactly_these_and_cost_nothing(settings):
    settings.METRICS_ALLOWED_IPS = ["192.0.2.1"]
    assert {r.route for r in routes(*EXEMPT[:3])} == set(UNLIMITED)
    for route, (_why, queries) in UNLIMITED.items():
        with CaptureQueriesContext(connection) as captured:
            for _ in range(5):
                response = Client().get(f"/{route}")
        assert response.status_code in (200, 404)
        assert len(captured) <= 5 * queries, route
        assert not [q for q in captured.captured_queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    assert Client().get("/metrics").status_code == 404


def _widget_endpoint(route: Route) -> str:
    return route.route.rsplit("/", 1)[1]


def test_every_widget_route_has_its_own_limit():
    for route in routes("api/widget/"):
        endpoint = _widget_endpoint(route)
        assert endpoint in WIDGET_PER_IP or endpoint in WIDGET_PER_TOKEN, f"/{route.route}: add a row"


@pytest.mark.parametrize("route", routes("api/widget/"), ids=lambda r: r.route)
def test_every_widget_route_is_limited(settings, visitor, route):
    endpoint = _widget_endpoint(route)
    name = WIDGET_PER_IP.get(endpoint) or WIDGET_PER_TOKEN[endpoint]
    settings.WIDGET_RATE_LIMITS = {**settings.WIDGET_RATE_LIMITS, name: "2/m"}
    if endpoint in WIDGET_PER_TOKEN:
        visitor.start()
    url = fill(route.route, {"assistant_id": visitor.assistant.public_id})
    body = {
        "message": "hi",
        "email": "v@example.com",
        "rating": "up",
        "assistant_id": visitor.assistant.public_id,
        "subject": "s",
    }

    def send() -> Any:
        if "get" in route.methods:
            return visitor.client.get(url, {"q": "hours"}, headers=visitor.headers())
        return visitor.client.post(url, body, content_type="application/json", headers=visitor.headers())

    for _ in range(2):
        assert send().status_code != 429
    limited = send()
    assert limited.status_code == 429, limited.content
    assert int(limited["Retry-After"]) > 0


def test_unknown_visitor_tokens_are_limited_per_ip(settings, visitor):
    settings.API_AUTH_FAILURE_RATE = "2/m"
    visitor.token = "wst_" + "A" * 40
    assert [visitor.get("history").status_code for _ in range(3)] == [401, 401, 429]


@pytest.mark.parametrize("route", routes("api/sms/"), ids=lambda r: r.route)
def test_twilios_routes_limit_refused_requests_per_ip(settings, client, sms_assistant, route):
    settings.API_AUTH_FAILURE_RATE = "2/m"
    endpoint = route.route.split("/")[2]
    fixture = "inbound_sms" if endpoint == "webhook" else "status_delivered"
    answers = [twilio.post_fixture(client, fixture, sms_assistant, endpoint=endpoint, signature="x") for _ in range(3)]
    assert [a.status_code for a in answers] == [403, 403, 429]


@pytest.mark.parametrize(("route", "view", "method"), V1_CASES)
def test_every_v1_operation_counts_against_the_keys_limit(workspace, settings, route, view, method):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    objects = one_of_each(workspace)
    _, key = factories.make_key(workspace, scopes=list(SCOPES), rate_limit="1/h")
    url = fill(route, objects)
    client = APIClient()
    first = v1_call(client, method, url, key)
    assert first.status_code != 429
    limited = v1_call(client, method, url, key)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"


# --- allauth's and SSO's own, tighter limits on what writes or sends


def test_sign_up_and_password_reset_are_limited_per_ip(settings, owner):
    settings.ACCOUNT_RATE_LIMITS = {"signup": "2/m/ip", "reset_password": "2/m/ip"}
    signups = [
        Client().post(
            "/accounts/signup/", {"email": f"n{i}@example.com", "password1": "a-long-pass-9", "password2": "x"}
        )
        for i in range(3)
    ]
    assert [r.status_code for r in signups][-1] == 429
    resets = [Client().post("/accounts/password/reset/", {"email": f"n{i}@example.com"}) for i in range(3)]
    assert resets[-1].status_code == 429


def test_sso_is_404_while_off_and_limited_per_ip_when_on(settings):
    assert Client().get("/oidc/authenticate/").status_code == 404
    assert Client().get("/oidc/callback/").status_code == 404
    settings.OIDC_RP_CLIENT_ID = "parley"
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = "https://sso.example.com/authorize"
    settings.SSO_RATE_LIMIT = "2/m"
    starts = [Client().get("/oidc/authenticate/") for _ in range(3)]
    assert [r.status_code for r in starts] == [302, 302, 429]
    assert starts[0]["Location"].startswith("https://sso.example.com/authorize?")


# --- the OpenAPI document: generated once, whatever the query says


def test_the_schema_is_one_document_whatever_the_query_string(client):
    api_docs._documents.clear()
    first = client.get("/api/v1/schema/")
    for query in ("?version=evil", "?version=2", "?lang=de", "?lang=zz-unknown", "?version=x&lang=fr"):
        again = client.get("/api/v1/schema/" + query)
        assert again.content == first.content, query
    assert json.loads(first.content)["info"]["version"] == "1.0.0"
    assert len(api_docs._documents) == 1


def test_rate_limit_windows_end(settings, visitor):
    """A 429 is for now, not for ever: the window ends and the next request is answered."""
    import time_machine

    settings.WIDGET_RATE_LIMITS = {**settings.WIDGET_RATE_LIMITS, "config": "1/m"}
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert visitor.get("config").status_code == 200
        assert visitor.get("config").status_code == 429
        clock.shift(timedelta(minutes=2))
        assert visitor.get("config").status_code == 200


def test_the_public_limit_never_reads_a_session_where_sessions_mean_nothing(owner, django_assert_num_queries):
    client = Client()
    client.force_login(owner)
    with django_assert_num_queries(0):
        response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert "Cookie" not in response.get("Vary", "")


def test_widget_preflights_are_limited_per_ip_and_past_it_look_nothing_up(settings, visitor, django_assert_num_queries):
    """django-cors-headers answers preflights before any view: they are counted where they are decided."""
    settings.WIDGET_RATE_LIMITS = {**settings.WIDGET_RATE_LIMITS, "preflight": "2/m"}
    url = visitor.url("chat")
    headers = {"HTTP_ORIGIN": visitor.origin, "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST"}
    approved = [visitor.client.options(url, **headers).get("Access-Control-Allow-Origin") for _ in range(2)]
    assert approved == [visitor.origin, visitor.origin]
    with django_assert_num_queries(0):
        refused = visitor.client.options(visitor.url("chat", "ast_" + "x" * 20), **headers)
    assert "Access-Control-Allow-Origin" not in refused

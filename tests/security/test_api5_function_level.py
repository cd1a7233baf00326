"""OWASP API5:2023 Broken Function Level Authorization — who may call what, as one table.

``TABLE`` holds, for every method of every in-app API route and every page of the URL
conf, the status each role gets: owner, admin, member, guest, and someone not signed in.
The cases are generated from the URL conf, so a new route or method without a row fails.
Each request is a valid one for the roles allowed to make it (``BODIES``), so a status
in the table is the role's, not the body's: 403 is "your role may not", 404 is "you may
not even see it" (SPEC §1), 401 and the 302 to the login page are "sign in first".

The public API's function-level rule is the key's scopes and plan, per operation:
tests/crm/test_v1_contract.py::test_scopes_and_plan_per_endpoint.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from accounts.models import Role
from tests import factories
from tests.security.urlconf import Route, fill, routes

pytestmark = pytest.mark.django_db
ROLES = ("owner", "admin", "member", "guest", "anonymous")
LOGIN = 302  # a page sends someone not signed in to /accounts/login/?next=…

# (method, route): statuses for owner, admin, member, guest, anonymous.
TABLE: dict[tuple[str, str], tuple[int, int, int, int, int]] = {
    # --- the in-app API
    ("get", "api/me"): (200, 200, 200, 200, 401),
    ("post", "api/workspaces/<int:workspace_id>/switch"): (200, 200, 200, 200, 401),
    ("get", "api/members"): (200, 200, 200, 403, 401),
    ("post", "api/members/invite"): (201, 201, 403, 403, 401),
    ("patch", "api/members/<int:membership_id>"): (200, 200, 403, 403, 401),
    ("delete", "api/members/<int:membership_id>"): (204, 204, 403, 403, 401),
    ("delete", "api/workspace"): (204, 403, 403, 403, 401),
    ("get", "api/workspace/billing"): (200, 403, 403, 403, 401),
    ("get", "api/workspace/settings"): (200, 403, 403, 403, 401),
    ("patch", "api/workspace/settings"): (200, 403, 403, 403, 401),
    ("get", "api/assistants"): (200, 200, 200, 200, 401),
    ("post", "api/assistants"): (201, 201, 403, 403, 401),
    ("get", "api/assistants/<str:assistant_id>"): (200, 200, 200, 200, 401),
    ("patch", "api/assistants/<str:assistant_id>"): (200, 200, 403, 403, 401),
    ("delete", "api/assistants/<str:assistant_id>"): (204, 204, 403, 403, 401),
    # grants are of private assistants, which members and guests do not see at all
    ("get", "api/assistants/<str:assistant_id>/grants"): (200, 200, 404, 404, 401),
    ("post", "api/assistants/<str:assistant_id>/grants"): (201, 201, 404, 404, 401),
    ("delete", "api/assistants/<str:assistant_id>/grants"): (204, 204, 404, 404, 401),
    ("post", "api/assistants/<str:assistant_id>/identity-secret"): (201, 201, 403, 403, 401),
    ("get", "api/chats"): (200, 200, 200, 200, 401),
    ("post", "api/chats"): (201, 201, 201, 403, 401),
    # a chat of another member on a public assistant: admins read all, guests read public ones,
    # another member does not see it; only its member writes in it
    ("get", "api/chats/<str:chat_id>/messages"): (200, 200, 404, 200, 401),
    ("post", "api/chats/<str:chat_id>/messages"): (403, 403, 404, 403, 401),
    # --- the pages
    ("get", ""): (200, 200, 200, 200, LOGIN),
    ("post", ""): (200, 200, 200, 200, LOGIN),
    ("get", "workspaces/switch/"): (405, 405, 405, 405, LOGIN),
    ("post", "workspaces/switch/"): (302, 302, 302, 302, LOGIN),
    ("get", "settings/api-keys/"): (200, 200, 403, 403, LOGIN),
    ("get", "settings/api-keys/new/"): (200, 200, 403, 403, LOGIN),
    ("post", "settings/api-keys/new/"): (201, 201, 403, 403, LOGIN),
    ("put", "settings/api-keys/new/"): (400, 400, 403, 403, LOGIN),  # a form takes POST; PUT has no fields
    ("get", "settings/api-keys/<int:pk>/"): (200, 200, 403, 403, LOGIN),
    ("get", "settings/api-keys/<int:pk>/roll/"): (200, 200, 403, 403, LOGIN),
    ("post", "settings/api-keys/<int:pk>/roll/"): (201, 201, 403, 403, LOGIN),
    ("put", "settings/api-keys/<int:pk>/roll/"): (400, 400, 403, 403, LOGIN),
    ("get", "settings/api-keys/<int:pk>/revoke/"): (200, 200, 403, 403, LOGIN),
    ("post", "settings/api-keys/<int:pk>/revoke/"): (302, 302, 403, 403, LOGIN),
    ("get", "settings/audit-log/"): (200, 200, 403, 403, LOGIN),
    ("get", "settings/plan/"): (200, 403, 403, 403, LOGIN),
    # the admin is for support staff only: a signed-in user who is not staff gets the 403 page
    # (followed through the admin's own redirect to its login, which never shows a form)
    ("get", "admin/"): (403, 403, 403, 403, LOGIN),
    ("post", "admin/"): (403, 403, 403, 403, LOGIN),
}
# Not role-gated, on purpose: the same answer for everyone (their own rules are elsewhere).
SAME_FOR_EVERYONE = {
    "healthz": "the load balancer's probe",
    "readyz": "the load balancer's probe",
    "metrics": "allowed by address (METRICS_ALLOWED_IPS), not by role",
    "widget/demo/": "the widget's public demo page",
}
# Elsewhere: allauth's own account pages (any signed-in user, for themselves), SSO, the public
# API (scopes: see above), the widget (visitor tokens), Twilio and GitHub (signatures); the admin's
# other pages are behind the same admin_view as admin/ (test_every_admin_page_is_staff_only).
OTHER_RULES = ("accounts/", "oidc/", "api/v1/", "api/widget/", "api/sms/", "api/secret-scanning/", "admin/")


def _gated(route: Route) -> bool:
    return route.route == "admin/" or not route.starts(*OTHER_RULES)


CASES = [
    pytest.param(route, method, role, id=f"{role}-{method} /{route.route}")
    for route in routes()
    if _gated(route) and route.route not in SAME_FOR_EVERYONE
    for method in route.methods
    for role in ROLES
]


def test_every_route_and_method_has_a_row():
    rows = {(method, route.route) for route in routes() if _gated(route) for method in route.methods}
    rows -= {(m, r) for m, r in rows if r in SAME_FOR_EVERYONE}
    assert rows - set(TABLE) == set(), f"add rows for {sorted(rows - set(TABLE))}"
    assert set(TABLE) - rows == set(), f"stale rows {sorted(set(TABLE) - rows)}"


class World:
    """A workspace with one of each role, their objects, and a fresh target for each destructive call."""

    def __init__(self, workspace) -> None:
        self.workspace = workspace
        self.users = {
            "owner": factories.owner_of(workspace),
            "admin": factories.add_member(workspace, Role.ADMIN),
            "member": factories.add_member(workspace, Role.MEMBER),
            "guest": factories.add_member(workspace, Role.GUEST),
        }
        self.public = factories.make_assistant(workspace, visibility="public")
        self.private = factories.make_assistant(workspace, visibility="private")
        self.granted = factories.add_member(workspace, Role.MEMBER)
        self.private.grants.create(user=self.granted)
        self.grantee = factories.add_member(workspace, Role.MEMBER)
        chatter = Client()
        chatter.force_login(factories.add_member(workspace, Role.MEMBER))
        self.chat = chatter.post("/api/chats", {"assistant": self.public.public_id}, content_type="application/json")
        self.target = factories.add_member(workspace, Role.MEMBER)
        self.key, _ = factories.make_key(workspace)

    def ids(self, route: str) -> dict[str, Any]:
        grants = route.endswith("/grants")
        return {
            "workspace_id": self.workspace.pk,
            "membership_id": self.workspace.memberships.get(user=self.target).pk,
            "assistant_id": (self.private if grants else self.public).public_id,
            "chat_id": self.chat.json()["id"],
            "pk": self.key.pk,
        }


def _form_token(client: Client, url: str) -> str:
    page = client.get(url).content.decode()
    marker = 'name="form_token" value="'
    return page.split(marker, 1)[1].split('"', 1)[0] if marker in page else ""


def _body(world: World, method: str, route: str, client: Client, url: str) -> dict[str, Any] | None:
    """A valid body for the roles allowed to make this call."""
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("post", "api/members/invite"): {"email": "new-member@example.com"},
        ("patch", "api/members/<int:membership_id>"): {"role": "guest"},
        ("delete", "api/workspace"): {"confirm": world.workspace.name},
        ("post", "api/assistants"): {"name": "New assistant"},
        ("patch", "api/assistants/<str:assistant_id>"): {"greeting": "Hello!"},
        ("post", "api/assistants/<str:assistant_id>/grants"): {"user_id": world.grantee.pk},
        ("delete", "api/assistants/<str:assistant_id>/grants"): {"user_id": world.granted.pk},
        ("post", "api/chats"): {"assistant": world.public.public_id},
        ("post", "api/chats/<str:chat_id>/messages"): {"body": "hi"},
        ("post", "workspaces/switch/"): {"workspace": world.workspace.pk},
    }
    if (method, route) == ("post", "settings/api-keys/new/"):
        return {
            "form_token": _form_token(client, url),
            "name": "New key",
            "kind": "secret",
            "scopes": ["contacts:read"],
            "expiry": "never",
        }
    if (method, route) == ("post", "settings/api-keys/<int:pk>/roll/"):
        return {"form_token": _form_token(client, url), "grace": "now"}
    return bodies.get((method, route))


def _call(client: Client, method: str, route: Route, url: str, body: dict[str, Any] | None):
    if route.starts("api/"):
        if method == "get":
            return client.get(url)
        return getattr(client, method)(url, json.dumps(body or {}), content_type="application/json")
    if method == "get":
        return client.get(url)
    if method == "put":
        return client.put(url)
    return client.post(url, body or {})


@pytest.mark.parametrize(("route", "method", "role"), CASES)
def test_role_table(workspace, route, method, role):
    world = World(workspace)
    client = Client()
    if role != "anonymous":
        client.force_login(world.users[role])
    url = fill(route.route, world.ids(route.route))
    response = _call(client, method, route, url, _body(world, method, route.route, client, url))
    if route.starts("admin/") and role != "anonymous" and response.status_code == 302:
        response = client.get(response["Location"])
    expected = TABLE[(method, route.route)][ROLES.index(role)]
    assert response.status_code == expected, response.content[:300]
    if expected == LOGIN and role == "anonymous":
        assert response["Location"].startswith(("/accounts/login/", "/admin/login/"))
    if route.starts("api/") and expected in (401, 403, 404):
        assert (
            response.json()["error"]["code"]
            == {
                401: "not_authenticated",
                403: "permission_denied",
                404: "not_found",
            }[expected]
        )


@pytest.mark.parametrize("path", list(SAME_FOR_EVERYONE))
def test_what_is_not_role_gated_answers_everyone_alike(workspace, path):
    world = World(workspace)
    answers = set()
    for role in ROLES:
        client = Client()
        if role != "anonymous":
            client.force_login(world.users[role])
        answers.add(client.get(f"/{path}").status_code)
    assert len(answers) == 1, answers


def test_every_admin_page_is_staff_only(workspace):
    """Every admin changelist: a workspace owner who is not staff gets the 403 page, never data."""
    from django.contrib import admin
    from django.urls import reverse

    owner = Client()
    owner.force_login(factories.owner_of(workspace))
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert owner.get(url, follow=True).status_code == 403, url
        assert Client().get(url)["Location"].startswith("/admin/login/")

"""Rules every /api/v1/ endpoint keeps, checked over the URL conf so a new endpoint cannot skip them:

- each method declares the scope it needs; a key without it gets 403 missing_scope, a key
  with it gets past the check; a write scope on a free workspace is 403 plan_upgrade_required;
- an id of another workspace answers 404 exactly like an unknown id (BOLA).
"""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from accounts.models import Plan
from apikeys.api import ApiV1View
from apikeys.scopes import SCOPES
from tests import factories
from tests.security.urlconf import routes

pytestmark = pytest.mark.django_db
METHODS = ("get", "post", "patch", "put", "delete")
PARAM = re.compile(r"<(?:\w+:)?(\w+)>")


def v1_routes() -> list[tuple[str, type[ApiV1View]]]:
    return [
        (r.route, r.view_class)
        for r in routes("api/v1/")
        if r.view_class is not None and issubclass(r.view_class, ApiV1View)
    ]


ROUTES = v1_routes()
CASES = [
    pytest.param(route, view, method, id=f"{method} /{route}")
    for route, view in ROUTES
    for method in METHODS
    if hasattr(view, method)
]


def test_every_v1_view_declares_a_scope_for_each_method_it_has():
    assert len(CASES) >= 12
    for route, view, method in (case.values for case in CASES):
        assert method.upper() in view.required_scopes, f"/{route} {method}: declare required_scopes"
        scope = view.required_scopes[method.upper()]
        assert scope is None or scope in SCOPES, scope


def one_of_each(workspace) -> dict[str, str]:
    """One object of each kind in ``workspace``, by URL parameter name."""
    assistant = factories.make_assistant(workspace)
    contact = factories.make_contact(workspace)
    return {
        "assistant_id": assistant.public_id,
        "contact_id": contact.public_id,
        "ticket_id": factories.make_ticket(workspace, contact=contact).public_id,
        "conversation_id": factories.make_conversation(assistant).public_id,
        "hook_id": factories.make_hook(workspace).public_id,
    }


@pytest.fixture
def objects(workspace, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True  # the hooks point at loopback
    return one_of_each(workspace)


def fill(route: str, ids: dict[str, str]) -> str:
    missing = [name for name in PARAM.findall(route) if name not in ids]
    assert not missing, f"/{route}: add {missing} to the objects fixture"
    return "/" + PARAM.sub(lambda m: ids[m.group(1)], route)


def call(client, method, url, key):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    if method == "get" or method == "delete":
        return getattr(client, method)(url, **headers)
    return getattr(client, method)(url, {}, format="json", **headers)


@pytest.mark.parametrize(("route", "view", "method"), CASES)
def test_scopes_and_plan_per_endpoint(workspace, objects, route, view, method):
    scope = view.required_scopes[method.upper()]
    url = fill(route, objects)
    client = APIClient()
    others = [s for s in SCOPES if scope is None or s.split(":")[0] != scope.split(":")[0]]
    _, without = factories.make_key(workspace, scopes=others)
    _, with_it = factories.make_key(workspace, scopes=[scope] if scope else ["contacts:read"])
    if scope is not None:
        refused = call(client, method, url, without)
        assert refused.status_code == 403, refused.content
        assert refused.json()["error"] == {
            "code": "missing_scope",
            "message": f"This API key lacks the {scope} scope.",
            "required_scope": scope,
            "request_id": refused["X-Request-Id"],
        }
    allowed = call(client, method, url, with_it)
    assert allowed.status_code < 500, allowed.content
    assert allowed.status_code not in (401, 403), allowed.content


@pytest.mark.parametrize(("route", "view", "method"), CASES)
def test_write_scopes_need_a_paid_plan_even_on_old_keys(workspace, objects, route, view, method):
    scope = view.required_scopes[method.upper()]
    _, plain = factories.make_key(workspace, scopes=[scope] if scope else ["contacts:read"])
    workspace.plan = Plan.FREE
    workspace.save()
    response = call(APIClient(), method, fill(route, objects), plain)
    if scope and scope.endswith(":write"):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "plan_upgrade_required"
    else:
        assert response.status_code not in (401, 403), response.content


ID_CASES = [case for case in CASES if PARAM.search(case.values[0])]


@pytest.mark.parametrize(("route", "view", "method"), ID_CASES)
def test_another_workspaces_ids_are_404_like_unknown_ones(workspace, objects, route, view, method):
    theirs = one_of_each(factories.make_workspace())
    _, plain = factories.make_key(workspace, scopes=list(SCOPES))
    client = APIClient()
    foreign = call(client, method, fill(route, theirs), plain)
    unknown = call(client, method, fill(route, dict.fromkeys(theirs, "xx_unknown")), plain)
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["error"]["message"] == unknown.json()["error"]["message"]

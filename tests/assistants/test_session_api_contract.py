"""Two rules every in-app endpoint keeps, checked over the URL conf so a new endpoint cannot skip them:

- every unsafe method with a session is refused without the CSRF token (and works with it);
- an id of another workspace answers 404, exactly like an id that does not exist.

A new id-taking route needs a row in ``IDS`` below, or these tests fail and say so.

``/api/sms/`` is not a session API: Twilio calls it with no cookie and no CSRF token,
and each request is authenticated by its ``X-Twilio-Signature`` instead (an unknown
assistant is a 404; a known one without a valid signature a 403 ``invalid_signature``).
It is left out here and held to its own rules in ``tests/sms/``; so is GitHub's
``/api/secret-scanning/github``, signed with GitHub's keys (``tests/apikeys/test_secret_scanning.py``).
"""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from accounts.models import Role
from tests import factories
from tests.security.urlconf import routes

pytestmark = pytest.mark.django_db
UNSAFE = ("post", "put", "patch", "delete")
# Signed webhooks under /api/ that take no session (see above); GitHub's secret-scanning
# reports likewise, signed with GitHub's keys (tests/apikeys/test_secret_scanning.py).
NOT_SESSION_APIS = ("api/sms/", "api/secret-scanning/")


def api_routes() -> list[tuple[str, type]]:
    """(route, view class) of every in-app API route: under /api/, not the public /api/v1/ or /api/widget/."""
    public = ("api/v1/", "api/widget/", *NOT_SESSION_APIS)  # keys, visitor tokens, Twilio
    return [(r.route, r.view_class) for r in routes("api/") if not r.starts(*public) and r.view_class]


def methods(view_class: type) -> list[str]:
    return [m for m in ("get", *UNSAFE) if hasattr(view_class, m)]


@pytest.fixture
def world(workspace, owner):
    """The signed-in owner's workspace and objects in it, and the same objects in a stranger's workspace."""
    mine = factories.make_assistant(workspace, visibility="private")
    theirs_ws = factories.make_workspace()
    theirs = factories.make_assistant(theirs_ws, visibility="public")
    member = factories.add_member(workspace, Role.MEMBER)
    stranger = factories.add_member(theirs_ws, Role.MEMBER)
    client = Client()
    client.force_login(factories.owner_of(theirs_ws))
    their_chat = json.loads(
        client.post("/api/chats", {"assistant": theirs.public_id}, content_type="application/json").content
    )["id"]
    client.force_login(owner)
    my_chat = json.loads(
        client.post("/api/chats", {"assistant": mine.public_id}, content_type="application/json").content
    )["id"]
    return {
        "mine": {
            "assistant_id": mine.public_id,
            "chat_id": my_chat,
            "workspace_id": workspace.pk,
            "membership_id": workspace.memberships.get(user=member).pk,
        },
        "theirs": {
            "assistant_id": theirs.public_id,
            "chat_id": their_chat,
            "workspace_id": theirs_ws.pk,
            "membership_id": theirs_ws.memberships.get(user=stranger).pk,
        },
    }


PARAM = re.compile(r"<(?:\w+:)?(\w+)>")


def fill(route: str, ids: dict[str, object]) -> str:
    names = PARAM.findall(route)
    missing = [name for name in names if name not in ids]
    assert not missing, f"/{route}: add {missing} to the world fixture's ids"
    return "/" + PARAM.sub(lambda m: str(ids[m.group(1)]), route)


ROUTES = api_routes()
UNSAFE_CASES = [
    pytest.param(route, method, id=f"{method} /{route}")
    for route, view in ROUTES
    for method in methods(view)
    if method in UNSAFE
]
ID_CASES = [
    pytest.param(route, method, id=f"{method} /{route}")
    for route, view in ROUTES
    if PARAM.search(route) and "workspace_id" not in route  # switching to a workspace you are not in: below
    for method in methods(view)
]


def test_the_tables_cover_the_in_app_api():
    assert len(UNSAFE_CASES) >= 9
    assert len(ID_CASES) >= 8


def test_only_signed_webhooks_are_left_out(settings):
    """What NOT_SESSION_APIS skips is exactly the two SMS webhooks and GitHub's secret-scanning
    reports, each exempt from CSRF and session-free."""
    from apikeys.api_scanning import GitHubSecretScanningApi
    from sms.api import TwilioView

    skipped = [(r.route, r.view_class) for r in routes(*NOT_SESSION_APIS)]
    assert sorted(route for route, _ in skipped) == [
        "api/secret-scanning/github",
        "api/sms/status/<str:assistant_id>",
        "api/sms/webhook/<str:assistant_id>",
    ]
    for route, view_class in skipped:
        expected = GitHubSecretScanningApi if route.startswith("api/secret-scanning/") else TwilioView
        assert issubclass(view_class, expected), route
        assert view_class.as_view().csrf_exempt, route
        assert f"/{route}".startswith(settings.SESSIONLESS_PATHS), route


@pytest.mark.parametrize(("route", "method"), UNSAFE_CASES)
def test_every_session_write_needs_the_csrf_token(world, owner, route, method):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    url = fill(route, world["mine"])
    refused = getattr(client, method)(url, "{}", content_type="application/json")
    assert refused.status_code == 403, refused.content
    error = refused.json()["error"]
    assert (error["code"], error["message"]) == ("permission_denied", "CSRF check failed.")
    client.get("/")  # a page sets the csrftoken cookie, as in the browser
    token = client.cookies["csrftoken"].value
    allowed = getattr(client, method)(url, "{}", content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert allowed.status_code != 403 or allowed.json()["error"]["message"] != "CSRF check failed."


def call(client, method, url):
    if method == "get":
        return client.get(url)
    return getattr(client, method)(url, "{}", content_type="application/json")


@pytest.mark.parametrize(("route", "method"), ID_CASES)
def test_another_workspaces_ids_are_404_like_unknown_ones(world, owner, route, method):
    client = Client()
    client.force_login(owner)
    theirs = call(client, method, fill(route, world["theirs"]))
    unknown_ids = {
        name: ("ast_unknown" if name == "assistant_id" else "conv_unknown" if name == "chat_id" else 999999)
        for name in world["mine"]
    }
    unknown = call(client, method, fill(route, unknown_ids))
    assert theirs.status_code == unknown.status_code == 404, (theirs.content, unknown.content)
    assert theirs.json()["error"]["code"] == unknown.json()["error"]["code"] == "not_found"
    assert theirs.json()["error"]["message"] == unknown.json()["error"]["message"]


def test_switching_to_a_workspace_you_are_not_in_is_404(world, owner):
    client = Client()
    client.force_login(owner)
    assert client.post(f"/api/workspaces/{world['theirs']['workspace_id']}/switch").status_code == 404
    assert client.post("/api/workspaces/999999/switch").status_code == 404

"""OWASP API1:2023 Broken Object Level Authorization — every id Parley takes, from every caller it should not serve.

The rule on every surface: an object the caller may not reach answers exactly like one
that does not exist (no existence oracle), and nothing about it changes.

``KEPT_BY`` has one row per (surface, URL parameter): the test that holds the rule for
it. ``test_every_route_parameter_has_a_row`` walks the whole URL conf, so a new route
whose parameter has no row fails, naming it. The public API and the in-app API have
their own URL-conf-driven tests (named in the table, and checked here to cover every
route); the other surfaces are tested below.
"""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Role
from apikeys.models import ApiKey
from assistants.models import Conversation, Message
from tests import factories
from tests.assistants import test_session_api_contract as in_app_contract
from tests.crm import test_v1_contract as v1_contract
from tests.security.urlconf import Route, fill, routes
from tests.sms import twilio
from tests.widget.conftest import SITE, Visitor
from widget.api import VisitorView

pytestmark = pytest.mark.django_db

V1 = "tests/crm/test_v1_contract.py::test_another_workspaces_ids_are_404_like_unknown_ones"
IN_APP = "tests/assistants/test_session_api_contract.py::test_another_workspaces_ids_are_404_like_unknown_ones"
HERE = "tests/security/test_api1_object_level.py::"
# One-time tokens of allauth's own e-mail links, checked by allauth: no object of a workspace is named.
ALLAUTH_TOKEN = "allauth: a one-time e-mail link token, not an object id"

KEPT_BY: dict[tuple[str, str], str] = {
    ("v1", "contact_id"): V1,
    ("v1", "ticket_id"): V1,
    ("v1", "assistant_id"): V1,
    ("v1", "conversation_id"): V1,
    ("v1", "hook_id"): V1,
    ("in-app", "assistant_id"): IN_APP + "; " + HERE + "test_within_a_workspace_what_you_may_not_see_is_unknown",
    ("in-app", "chat_id"): IN_APP + "; " + HERE + "test_within_a_workspace_what_you_may_not_see_is_unknown",
    ("in-app", "membership_id"): IN_APP,
    ("in-app", "workspace_id"): "tests/assistants/test_session_api_contract.py::"
    "test_switching_to_a_workspace_you_are_not_in_is_404",
    ("pages", "pk"): HERE + "test_pages_answer_another_workspaces_ids_like_unknown_ones",
    ("widget", "assistant_id"): HERE
    + "test_a_visitor_token_on_another_workspaces_assistant_is_an_unknown_token; "
    + HERE
    + "test_an_assistant_without_a_widget_is_an_unknown_one",
    ("sms", "assistant_id"): HERE + "test_another_assistants_twilio_signature_is_a_wrong_signature",
    ("allauth", "key"): ALLAUTH_TOKEN,
    ("allauth", "uidb36"): ALLAUTH_TOKEN,
}
# The admin is for the platform's support staff, who see every workspace by design (SPEC: Support
# group); nobody else gets past its login (tests/security/test_api5_function_level.py).
NOT_HERE = ("admin/",)


def surface(route: Route) -> str:
    for prefix, name in [
        ("api/v1/", "v1"),
        ("api/widget/", "widget"),
        ("api/sms/", "sms"),
        ("api/", "in-app"),
        ("accounts/", "allauth"),
    ]:
        if route.starts(prefix):
            return name
    return "pages"


ID_ROUTES = [r for r in routes() if r.params and not r.starts(*NOT_HERE)]


def test_every_route_parameter_has_a_row():
    assert len(ID_ROUTES) >= 20
    missing = [
        f"/{r.route}: parameter {name!r} ({surface(r)}) has no row in KEPT_BY"
        for r in ID_ROUTES
        for name in r.params
        if (surface(r), name) not in KEPT_BY
    ]
    assert not missing, "\n".join(missing)


def test_the_v1_and_in_app_tables_cover_every_route_with_an_id():
    covered_v1 = {case.values[0] for case in v1_contract.ID_CASES}
    covered_in_app = {case.values[0] for case in in_app_contract.ID_CASES}
    for r in ID_ROUTES:
        if surface(r) == "v1":
            assert r.route in covered_v1, f"/{r.route} is not in {V1}"
        elif surface(r) == "in-app" and "workspace_id" not in r.params:
            assert r.route in covered_in_app, f"/{r.route} is not in {IN_APP}"


# --- pages (Settings → API Keys: /settings/api-keys/<pk>/…)

PAGE_ROUTES = [r for r in ID_ROUTES if surface(r) == "pages"]


@pytest.mark.parametrize("route", PAGE_ROUTES, ids=lambda r: r.route)
def test_pages_answer_another_workspaces_ids_like_unknown_ones(owner, route):
    theirs, _ = factories.make_key(factories.make_workspace())
    client = Client()
    client.force_login(owner)
    for method in route.methods:
        foreign = getattr(client, method)(fill(route.route, {"pk": theirs.pk}), {"grace": "now"})
        unknown = getattr(client, method)(fill(route.route, {"pk": 999_999}), {"grace": "now"})
        assert foreign.status_code == unknown.status_code == 404, (method, foreign.status_code)
        assert foreign.content == unknown.content
    theirs.refresh_from_db()
    assert (theirs.revoked_at, theirs.expires_at) == (None, None)  # neither revoked nor rolled
    assert ApiKey.objects.filter(workspace=theirs.workspace).count() == 1  # no successor either


# --- in-app, within one workspace: another member's chat, a private assistant


@pytest.mark.parametrize(
    "route", [r for r in ID_ROUTES if surface(r) == "in-app" and {"chat_id", "assistant_id"} & set(r.params)]
)
def test_within_a_workspace_what_you_may_not_see_is_unknown(workspace, member, route):
    """A member and another member's chat, or a private assistant they were not granted: exactly an unknown id."""
    other = Client()
    other.force_login(factories.add_member(workspace, Role.MEMBER))
    shared = factories.make_assistant(workspace, visibility="workspace")
    chat = other.post("/api/chats", {"assistant": shared.public_id}, content_type="application/json").json()["id"]
    private = factories.make_assistant(workspace, visibility="private")
    hidden = {"chat_id": chat, "assistant_id": private.public_id}
    unknown = {"chat_id": "conv_unknown", "assistant_id": "ast_unknown"}
    client = Client()
    client.force_login(member)
    for method in route.methods:
        answers = [
            getattr(client, method)(fill(route.route, ids), "{}", content_type="application/json")
            if method != "get"
            else client.get(fill(route.route, ids))
            for ids in (hidden, unknown)
        ]
        assert answers[0].status_code == answers[1].status_code == 404, (method, answers[0].content)
        assert answers[0].json()["error"]["message"] == answers[1].json()["error"]["message"]
    assert not Message.objects.filter(conversation__public_id=chat).exists()


# --- the widget: visitor tokens are bound to one assistant, visitor and conversation

WIDGET_ROUTES = [r for r in ID_ROUTES if surface(r) == "widget"]
TOKEN_ROUTES = [r for r in WIDGET_ROUTES if issubclass(r.view_class, VisitorView)]


def _call(client: Client, route: Route, assistant_id: str, headers: dict[str, str]):
    url = fill(route.route, {"assistant_id": assistant_id})
    if "get" in route.methods:
        return client.get(url, headers=headers)
    body = {"message": "hi", "email": "visitor@example.com", "rating": "up"}
    return client.post(url, body, content_type="application/json", headers=headers)


def _without_request_id(response) -> dict:
    return {k: v for k, v in response.json()["error"].items() if k != "request_id"}


def test_the_widget_tables_cover_its_routes():
    assert {r.route.rsplit("/", 1)[1] for r in TOKEN_ROUTES} == {"chat", "history", "lead", "feedback"}


@pytest.mark.parametrize("route", TOKEN_ROUTES, ids=lambda r: r.route)
def test_a_visitor_token_on_another_workspaces_assistant_is_an_unknown_token(visitor, route):
    token = visitor.start()["session_token"]
    theirs = factories.make_assistant(factories.make_workspace(), widget_enabled=True, allowed_origins=[SITE])
    before = Message.objects.count()
    foreign = _call(visitor.client, route, theirs.public_id, {"Origin": SITE, "Authorization": f"Bearer {token}"})
    unknown = _call(
        visitor.client, route, theirs.public_id, {"Origin": SITE, "Authorization": "Bearer wst_" + "A" * 40}
    )
    assert foreign.status_code == unknown.status_code == 401
    assert _without_request_id(foreign) == _without_request_id(unknown)
    assert Message.objects.count() == before


@pytest.mark.parametrize("route", WIDGET_ROUTES, ids=lambda r: r.route)
def test_an_assistant_without_a_widget_is_an_unknown_one(workspace, route):
    off = factories.make_assistant(workspace, widget_enabled=False)
    answers = [_call(Client(), route, assistant_id, {"Origin": SITE}) for assistant_id in (off.public_id, "ast_nope")]
    assert answers[0].status_code == answers[1].status_code == 404
    assert _without_request_id(answers[0]) == _without_request_id(answers[1])


def _conversation_of(case: str, visitor: Visitor) -> str:
    """A conversation id that is not the visitor's, as ``case`` says whose it is."""
    assistant = visitor.assistant
    if case == "another visitor's, same assistant":
        return Visitor(client=Client(), assistant=assistant).start()["conversation_id"]
    if case == "another assistant's, same workspace":
        return factories.make_conversation(factories.make_assistant(assistant.workspace)).public_id
    if case == "another workspace's":
        return factories.make_conversation(factories.make_assistant(factories.make_workspace())).public_id
    if case == "an app chat of the same assistant":
        return factories.make_conversation(assistant, channel=Conversation.Channel.APP).public_id
    if case == "an SMS thread of the same assistant":
        return factories.make_conversation(assistant, channel=Conversation.Channel.SMS).public_id
    if case == "no conversation at all":
        return "conv_unknown"
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case",
    [
        "another visitor's, same assistant",
        "another assistant's, same workspace",
        "another workspace's",
        "an app chat of the same assistant",
        "an SMS thread of the same assistant",
        "no conversation at all",
    ],
)
def test_history_of_a_conversation_that_is_not_the_visitors_is_access_denied_alike(visitor, case):
    visitor.start()
    conversation_id = _conversation_of(case, visitor)
    for conversation in Conversation.objects.filter(public_id=conversation_id):
        Message.objects.create(conversation=conversation, role=Message.Role.USER, body="someone else's words")
    response = visitor.get("history", {"conversation_id": conversation_id})
    assert response.status_code == 403
    assert _without_request_id(response) == {
        "code": "permission_denied",
        "message": "Access denied to this conversation",
    }
    assert "someone else's words" not in response.content.decode()


# --- SMS: a signature is only ever the assistant's own

SMS_ROUTES = [r for r in ID_ROUTES if surface(r) == "sms"]


@pytest.mark.parametrize("route", SMS_ROUTES, ids=lambda r: r.route)
def test_another_assistants_twilio_signature_is_a_wrong_signature(client, sms_assistant, route):
    """Signed with a real token of another workspace's assistant, posted to ours: exactly a forged signature."""
    factories.make_assistant(
        factories.make_workspace(),
        sms_number="+14155550123",
        twilio_account_sid=twilio.ACCOUNT_SID,
        twilio_auth_token="their-own-real-auth-token-000000",
    )
    fixture = "inbound_sms" if route.route.startswith("api/sms/webhook/") else "status_delivered"
    endpoint = route.route.split("/")[2]
    theirs = twilio.post_fixture(
        client, fixture, sms_assistant, endpoint=endpoint, token="their-own-real-auth-token-000000"
    )
    forged = twilio.post_fixture(client, fixture, sms_assistant, endpoint=endpoint, token="f" * 32)
    assert theirs.status_code == forged.status_code == 403
    assert _without_request_id(theirs) == _without_request_id(forged)
    assert not Message.objects.exists()

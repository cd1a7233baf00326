"""OWASP API2:2023 Broken Authentication — every credential Parley takes, broken every way it can be.

The credentials: secret keys (``/api/v1/``), publishable keys (the widget's ``session``),
visitor tokens (the widget's conversation endpoints), sessions (the in-app API and the
pages) and Twilio's signatures (``/api/sms/``). Each is tried malformed, unknown, expired,
revoked and of another workspace, and each is tried where it does not belong. Then the
session itself (fixation, logout) and guessing (keys, tokens, signatures, passwords).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.actors import Actor
from accounts.middleware import SEEN_AT_KEY
from accounts.selectors import SESSION_WORKSPACE_KEY
from apikeys import keys
from apikeys.models import ApiKey
from apikeys.services import api_key_revoke, api_key_roll
from assistants.models import Message
from assistants.services import assistant_update
from tests import factories
from tests.sms import twilio
from tests.widget.conftest import SITE, Visitor
from widget.models import VisitorSession

pytestmark = pytest.mark.django_db
COOKIE = "authjs.session-token"


def error(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def flipped(key: str) -> str:
    """The key with its last checksum character changed: well formed, wrong checksum."""
    return key[:-1] + ("A" if key[-1] != "A" else "B")


def _expire(key: ApiKey) -> None:
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))


def _revoke(key: ApiKey) -> None:
    api_key_revoke(key=key, actor=Actor.for_user(factories.owner_of(key.workspace)))


# --- secret keys on /api/v1/ (check order of the key chain: 401s first)

SECRET_KEY_CASES = {
    # case: (how the key is made from a live one, where it is sent, expected status and code)
    "malformed": (lambda key, plain: "wsk_live_short", "/api/v1/me", (401, "invalid_api_key")),
    "bad checksum": (lambda key, plain: flipped(plain), "/api/v1/me", (401, "invalid_api_key")),
    "never issued": (lambda key, plain: keys.generate("secret"), "/api/v1/me", (401, "invalid_api_key")),
    "mistyped prefix": (lambda key, plain: "wsk_test_" + plain[9:], "/api/v1/me", (401, "invalid_api_key")),
    "expired": (lambda key, plain: (_expire(key), plain)[1], "/api/v1/me", (401, "api_key_expired")),
    "revoked": (lambda key, plain: (_revoke(key), plain)[1], "/api/v1/me", (401, "api_key_revoked")),
    "rolled, past its grace": (
        lambda key, plain: (api_key_roll(key=key, actor=Actor.for_user(factories.owner_of(key.workspace))), plain)[1],
        "/api/v1/me",
        (401, "api_key_expired"),
    ),
    "publishable in its place": (
        lambda key, plain: factories.make_key(key.workspace, kind=ApiKey.Kind.PUBLISHABLE)[1],
        "/api/v1/me",
        (403, "permission_denied"),
    ),
}


@pytest.mark.parametrize("case", list(SECRET_KEY_CASES))
def test_a_broken_secret_key_gets_nothing(workspace, case):
    make, path, expected = SECRET_KEY_CASES[case]
    key, plain = factories.make_key(workspace, scopes=["contacts:read"])
    sent = make(key, plain)
    for header in ("HTTP_AUTHORIZATION", "HTTP_X_API_KEY"):
        value = f"Bearer {sent}" if header == "HTTP_AUTHORIZATION" else sent
        response = APIClient().get(path, **{header: value})
        assert error(response) == expected, (header, response.content)
        if expected[0] == 401:
            assert response["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'
        assert "X-RateLimit-Limit" not in response  # refused before the rate limit: nothing counted


def test_a_secret_key_of_another_workspace_reads_only_its_own(workspace):
    mine = factories.make_contact(workspace)
    _, theirs = factories.make_key(factories.make_workspace(), scopes=["contacts:read"])
    response = APIClient().get(f"/api/v1/contacts/{mine.public_id}", HTTP_AUTHORIZATION=f"Bearer {theirs}")
    assert error(response) == (404, "not_found")
    listed = APIClient().get("/api/v1/contacts", HTTP_AUTHORIZATION=f"Bearer {theirs}").json()["results"]
    assert listed == []


def test_a_key_in_the_url_is_never_accepted(workspace):
    _, plain = factories.make_key(workspace, scopes=["contacts:read"])
    for name in ("api_key", "key", "access_token", "token"):
        response = APIClient().get("/api/v1/me", {name: plain})
        assert error(response) == (401, "api_key_required")
        assert "keys in the URL are refused" in response.json()["error"]["hint"]


def test_two_different_keys_in_two_headers_are_refused(workspace):
    _, one = factories.make_key(workspace)
    _, two = factories.make_key(workspace)
    response = APIClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {one}", HTTP_X_API_KEY=two)
    assert error(response) == (401, "invalid_api_key")


# --- publishable keys, where the widget sends them (POST …/session)


PUBLISHABLE_KEY_CASES = {
    "malformed": (lambda key, plain: "wpk_live_nope", (401, "invalid_api_key")),
    "bad checksum": (lambda key, plain: flipped(plain), (401, "invalid_api_key")),
    "never issued": (lambda key, plain: keys.generate("publishable"), (401, "invalid_api_key")),
    "expired": (lambda key, plain: (_expire(key), plain)[1], (401, "api_key_expired")),
    "revoked": (lambda key, plain: (_revoke(key), plain)[1], (401, "api_key_revoked")),
    "of another workspace": (
        lambda key, plain: factories.make_key(factories.make_workspace(), kind=ApiKey.Kind.PUBLISHABLE)[1],
        (401, "invalid_api_key"),
    ),
    "a secret key in its place": (
        lambda key, plain: factories.make_key(key.workspace, scopes=["contacts:read"])[1],
        (401, "invalid_api_key"),
    ),
}


@pytest.mark.parametrize("case", list(PUBLISHABLE_KEY_CASES))
def test_a_broken_publishable_key_starts_no_session(visitor, publishable_key, case):
    make, expected = PUBLISHABLE_KEY_CASES[case]
    sent = make(*publishable_key)
    assert error(visitor.post("session", {"publishable_key": sent})) == expected
    assert error(visitor.get("config", {"key": sent})) == expected
    assert not VisitorSession.objects.exists()


# --- visitor tokens (wst_…) on the conversation endpoints


def _token_case(visitor: Visitor, case: str, publishable: tuple[ApiKey, str]) -> None:
    """Leave ``visitor`` holding a token broken as ``case`` says."""
    if case == "malformed":
        visitor.token = "wst_" + "!" * 40
    elif case == "never issued":
        visitor.token = "wst_" + "A" * 40
    elif case == "of another workspace's assistant":
        other = factories.make_assistant(factories.make_workspace(), widget_enabled=True, allowed_origins=[SITE])
        Visitor(client=Client(), assistant=other).start()
        visitor.token = Visitor(client=Client(), assistant=other).start()["session_token"]
    elif case == "its session deleted":
        visitor.start()
        VisitorSession.objects.all().delete()
    elif case == "its publishable key revoked":
        visitor.start(publishable_key=publishable[1])
        _revoke(publishable[0])
    else:
        raise AssertionError(case)


TOKEN_CASES = {
    "malformed": (401, "invalid_session_token"),
    "never issued": (401, "invalid_session_token"),
    "of another workspace's assistant": (401, "invalid_session_token"),
    "its session deleted": (401, "invalid_session_token"),
    "its publishable key revoked": (401, "api_key_revoked"),
}


@pytest.mark.parametrize("case", list(TOKEN_CASES))
@pytest.mark.parametrize("endpoint", ["chat", "history", "lead", "feedback"])
def test_a_broken_visitor_token_reads_and_writes_nothing(visitor, publishable_key, case, endpoint):
    _token_case(visitor, case, publishable_key)
    before = Message.objects.count()
    response = (
        visitor.get(endpoint)
        if endpoint == "history"
        else visitor.post(endpoint, {"message": "hi", "email": "a@example.com", "rating": "up"})
    )
    assert error(response) == TOKEN_CASES[case], response.content
    assert Message.objects.count() == before


def test_an_expired_visitor_token_is_refused(visitor):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        visitor.start()
        clock.shift(timedelta(minutes=31))
        assert error(visitor.get("history")) == (401, "invalid_session_token")


# --- sessions on the in-app API


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_malformed_or_unknown_session_cookie_is_nobody(owner):
    for value in ("not-a-session", "x" * 32, "'; DROP TABLE django_session; --"):
        client = Client()
        client.cookies[COOKIE] = value
        assert error(client.get("/api/me")) == (401, "not_authenticated")


def test_an_idle_session_has_expired(owner):
    client = _signed_in(owner)
    session = client.session
    session[SEEN_AT_KEY] = int(timezone.now().timestamp()) - 9 * 3600
    session.save()
    assert error(client.get("/api/me")) == (401, "not_authenticated")


def test_a_session_pointing_at_another_workspace_stays_in_its_own(workspace, owner):
    stranger = factories.make_workspace()
    client = _signed_in(owner)
    session = client.session
    session[SESSION_WORKSPACE_KEY] = stranger.pk  # as if the user could write their own session
    session.save()
    me = client.get("/api/me").json()
    assert me["current_workspace"]["id"] == workspace.pk
    assert [w["id"] for w in me["workspaces"]] == [workspace.pk]


def test_a_suspended_membership_grants_nothing(workspace, member):
    workspace.memberships.filter(user=member).update(status="suspended")
    factories.make_assistant(workspace, visibility="public")
    client = _signed_in(member)
    assert client.get("/api/assistants").json() == {"results": []}
    assert error(client.get("/api/members")) == (403, "permission_denied")
    assert client.get("/api/me").json()["workspaces"] == []


# --- Twilio's signature on /api/sms/


def _post_text(client, assistant, **kwargs):
    return twilio.post_fixture(client, "inbound_sms", assistant, **kwargs)


def test_a_broken_twilio_signature_stores_nothing(client, sms_assistant, workspace):
    other = factories.make_assistant(
        factories.make_workspace(),
        sms_number="+14155550111",
        twilio_account_sid=twilio.ACCOUNT_SID,
        twilio_auth_token="another-workspaces-token-0000000",
    )
    attempts = {
        "missing": {"signature": ""},
        "garbage": {"signature": "not-base64!"},
        "a wrong token's": {"token": "0" * 32},
        "another workspace's assistant's token": {"token": "another-workspaces-token-0000000"},
        "over another URL": {"signed_url": f"http://testserver/api/sms/webhook/{other.public_id}"},
    }
    for name, kwargs in attempts.items():
        response = _post_text(client, sms_assistant, **kwargs)
        assert error(response) == (403, "invalid_signature"), name
    assert not Message.objects.exists()


def test_a_twilio_token_changed_on_the_assistant_retires_the_old_signatures(client, sms_assistant, owner):
    assistant_update(
        assistant=sms_assistant, actor=Actor.for_user(owner), twilio_auth_token="rotated-token-1111111111111111"
    )
    assert error(_post_text(client, sms_assistant)) == (403, "invalid_signature")
    assert _post_text(client, sms_assistant, token="rotated-token-1111111111111111").status_code == 200


def test_a_replayed_twilio_request_stores_nothing_twice(client, sms_assistant):
    """Twilio's signatures carry no time, so a captured request stays valid: its MessageSid makes it harmless."""
    first = _post_text(client, sms_assistant, MessageSid="SM" + "1" * 32)
    stored = Message.objects.count()
    again = _post_text(client, sms_assistant, MessageSid="SM" + "1" * 32)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.content == first.content
    assert Message.objects.count() == stored


# --- each credential only where it belongs


def test_no_credential_works_on_another_surface(workspace, owner, visitor):
    _, secret = factories.make_key(workspace, scopes=["contacts:read"])
    token = visitor.start()["session_token"]
    session = _signed_in(owner)

    assert error(session.get("/api/v1/me")) == (401, "api_key_required")  # a session alone is a missing key
    assert error(APIClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")) == (401, "invalid_api_key")
    assert error(APIClient().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {secret}")) == (401, "not_authenticated")
    assert error(APIClient().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}")) == (401, "not_authenticated")
    assert APIClient().get("/settings/api-keys/", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 302  # to login
    widget_with_session = session.get(visitor.url("history"), headers={"Origin": SITE})
    assert error(widget_with_session) == (401, "invalid_session_token")
    widget_with_key = visitor.client.get(
        visitor.url("history"), headers={"Origin": SITE, "Authorization": f"Bearer {secret}"}
    )
    assert error(widget_with_key) == (401, "invalid_session_token")


# --- the session itself: fixation and logout


def _login(client, user, password=factories.PASSWORD):
    return client.post("/accounts/login/", {"login": user.email, "password": password})


def test_a_planted_session_key_is_replaced_at_login(owner):
    """Session fixation: an attacker who made the victim's browser carry a session of theirs gains nothing."""
    attacker = Client()
    attacker.get("/accounts/login/")
    planted = attacker.session
    planted["planted"] = True
    planted.save()
    victim = Client()
    victim.cookies[COOKIE] = planted.session_key
    assert _login(victim, owner).status_code == 302
    assert victim.cookies[COOKIE].value != planted.session_key
    assert victim.get("/api/me").status_code == 200
    attacker.cookies[COOKIE] = planted.session_key
    assert error(attacker.get("/api/me")) == (401, "not_authenticated")


def test_logout_ends_the_session_on_the_server_and_only_by_post(owner):
    client = Client()
    _login(client, owner)
    key = client.cookies[COOKIE].value
    client.get("/accounts/logout/")  # a link or an <img> cannot log anyone out
    assert client.get("/api/me").status_code == 200
    client.post("/accounts/logout/")
    assert not Session.objects.filter(session_key=key).exists()
    replay = Client()
    replay.cookies[COOKIE] = key
    assert error(replay.get("/api/me")) == (401, "not_authenticated")


# --- guessing


def test_guessing_keys_is_limited_per_ip(settings, db):
    settings.API_AUTH_FAILURE_RATE = "3/m"
    for _ in range(3):
        guess = APIClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {keys.generate('secret')}")
        assert error(guess) == (401, "invalid_api_key")
    limited = APIClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {keys.generate('secret')}")
    assert error(limited) == (429, "rate_limited")
    assert int(limited["Retry-After"]) > 0


def test_guessing_twilio_signatures_is_limited_per_ip_and_twilio_still_gets_through(settings, client, sms_assistant):
    settings.API_AUTH_FAILURE_RATE = "3/m"
    for _ in range(3):
        assert error(_post_text(client, sms_assistant, signature="guess")) == (403, "invalid_signature")
    assert error(_post_text(client, sms_assistant, signature="guess")) == (429, "rate_limited")
    assert error(client.post("/api/sms/webhook/ast_unknown", {})) == (429, "rate_limited")  # probing ids counts too
    assert _post_text(client, sms_assistant).status_code == 200  # a signed request is never limited
    assert not Message.objects.filter(body="guess").exists()


@pytest.fixture
def login_limits(settings):
    """allauth's limits, which the test settings turn off, back on and small."""
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "3/m/ip"}
    return settings


TOO_MANY_LOGINS = "Too many failed login attempts. Try again later."


def test_guessing_passwords_is_limited_per_ip(login_limits, owner):
    for _ in range(3):
        refused = _login(Client(), owner, "wrong-password-1")
        assert refused.status_code == 200  # the form again
        assert TOO_MANY_LOGINS not in refused.content.decode()
    # Past the limit not even the right password gets in from this address, for now.
    limited = _login(Client(), owner)
    assert (limited.status_code, "_auth_user_id" in limited.wsgi_request.session) == (200, False)
    assert TOO_MANY_LOGINS in limited.content.decode()
    assert _login(Client(REMOTE_ADDR="198.51.100.9"), owner).status_code == 302  # another client is unaffected


def test_behind_a_proxy_login_limits_count_each_client_not_the_proxy(login_limits, owner):
    """With TRUSTED_PROXY_COUNT, allauth counts the client the proxy saw (core.net.client_ip), like every other
    limit: a forged X-Forwarded-For entry does not reset it, and one attacker does not lock everyone out."""
    login_limits.TRUSTED_PROXY_COUNT = 1

    def via_proxy(client_address: str, forged: str = "") -> Client:
        chain = f"{forged}, {client_address}" if forged else client_address
        return Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=chain)

    for n in range(3):
        assert _login(via_proxy("203.0.113.5", forged=f"192.0.2.{n}"), owner, "wrong-password-1").status_code == 200
    limited = _login(via_proxy("203.0.113.5", forged="192.0.2.99"), owner)
    assert TOO_MANY_LOGINS in limited.content.decode()
    assert _login(via_proxy("203.0.113.6"), owner).status_code == 302  # the next client behind the same proxy


def test_the_admin_has_no_password_form_of_its_own(login_limits, db):
    """Staff sign in at /accounts/login/ (limited); /admin/login/ never takes a password."""
    staff = factories.make_user("support@example.com", is_staff=True)
    response = Client().get("/admin/login/?next=/admin/accounts/user/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Faccounts%2Fuser%2F"
    posted = Client().post("/admin/login/", {"username": staff.email, "password": factories.PASSWORD})
    assert posted.status_code == 302
    assert posted["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in Client().session
    signed_in = _signed_in(staff)
    assert signed_in.get("/admin/login/")["Location"] == "/admin/"
    assert _signed_in(factories.make_user()).get("/admin/login/").status_code == 403  # not staff: no second form

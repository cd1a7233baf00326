"""Single sign-on end to end against a real OpenID Connect provider on 127.0.0.1.

The provider is panva's certified ``oidc-provider`` (tests/oidc_provider/); the
app runs in pytest-django's live server; a ``requests`` session plays the browser.
"""

from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
from allauth.account.models import EmailAddress

from accounts.actors import Actor
from accounts.models import Membership, Role, SsoIdentity, User
from accounts.services import membership_invite
from tests import factories
from tests.oidc_provider.provider import drive_login, start_provider, stop_provider

ACCOUNTS = {
    "alice": {"email": "alice@example.org", "email_verified": True},
    "bob": {"email": "bob@example.org", "email_verified": False},
    "carol": {"email": "carol@example.org", "email_verified": True},
}


@pytest.fixture(scope="module")
def oidc_provider(live_server):
    provider, proc = start_provider([f"{live_server.url}/oidc/callback/"], ACCOUNTS)
    yield provider
    stop_provider(proc)


@pytest.fixture
def sso(settings, oidc_provider, transactional_db):
    for name, value in oidc_provider.settings_overrides().items():
        setattr(settings, name, value)
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, "accounts.oidc.ParleyOIDCBackend"]
    return oidc_provider


def sso_login(live_server, login: str, *, tamper_state: bool = False) -> tuple[requests.Session, requests.Response]:
    http = requests.Session()
    start = http.get(f"{live_server.url}/oidc/authenticate/", allow_redirects=False, timeout=10)
    assert start.status_code == 302
    callback = drive_login(http, start.headers["Location"], login)
    if tamper_state:
        parts = urlsplit(callback)
        query = parse_qs(parts.query)
        query["state"] = ["forged-state"]
        callback = urlunsplit(parts._replace(query=urlencode(query, doseq=True)))
    return http, http.get(callback, allow_redirects=False, timeout=10)


def me(live_server, http: requests.Session) -> requests.Response:
    return http.get(f"{live_server.url}/api/me", timeout=10)


def test_login_page_offers_sso_when_configured(sso, live_server):
    page = requests.get(f"{live_server.url}/accounts/login/", timeout=10).text
    assert "Continue with SSO" in page


def test_new_sso_user_gets_account_identity_and_personal_workspace(sso, live_server):
    http, callback = sso_login(live_server, "alice")
    assert callback.status_code == 302
    assert callback.headers["Location"] == "/"
    body = me(live_server, http).json()
    assert body["user"]["email"] == "alice@example.org"
    assert body["current_workspace"]["role"] == "owner"
    identity = SsoIdentity.objects.get()
    assert (identity.issuer, identity.subject) == (sso.issuer, "alice")


def test_returning_sso_user_is_the_same_user_with_no_second_workspace(sso, live_server):
    sso_login(live_server, "alice")
    http, _ = sso_login(live_server, "alice")
    assert me(live_server, http).status_code == 200
    assert User.objects.filter(email="alice@example.org").count() == 1
    assert Membership.objects.filter(user__email="alice@example.org").count() == 1


def test_verified_email_links_an_existing_local_account(sso, live_server):
    local = factories.make_user("carol@example.org")
    http, _ = sso_login(live_server, "carol")
    assert me(live_server, http).json()["user"]["id"] == local.pk
    assert SsoIdentity.objects.get().user == local


def test_unverified_email_is_never_linked_to_an_existing_account(sso, live_server):
    local = factories.make_user("bob@example.org")
    http, callback = sso_login(live_server, "bob")
    assert callback.status_code == 302
    assert "sso=failed" in callback.headers["Location"]
    assert me(live_server, http).status_code == 401
    assert not SsoIdentity.objects.filter(user=local).exists()


def test_unverified_new_user_may_sign_up_but_accepts_no_invitation(sso, live_server):
    workspace = factories.make_workspace()
    membership_invite(workspace=workspace, actor=Actor.for_user(factories.owner_of(workspace)), email="bob@example.org")
    http, _ = sso_login(live_server, "bob")
    assert me(live_server, http).status_code == 200
    assert not EmailAddress.objects.get(email="bob@example.org").verified
    assert Membership.objects.get(workspace=workspace, invited_email="bob@example.org").status == "invited"


def test_verified_sso_login_accepts_pending_invitation(sso, live_server):
    workspace = factories.make_workspace()
    membership_invite(
        workspace=workspace,
        actor=Actor.for_user(factories.owner_of(workspace)),
        email="alice@example.org",
        role=Role.ADMIN,
    )
    http, _ = sso_login(live_server, "alice")
    names = {w["name"]: w["role"] for w in me(live_server, http).json()["workspaces"]}
    assert names[workspace.name] == "admin"


def test_tampered_state_is_rejected(sso, live_server):
    http, callback = sso_login(live_server, "alice", tamper_state=True)
    assert callback.status_code in (400, 302)
    if callback.status_code == 302:
        assert "sso=failed" in callback.headers["Location"]
    assert me(live_server, http).status_code == 401
    assert not User.objects.filter(email="alice@example.org").exists()

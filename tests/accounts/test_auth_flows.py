"""Sign-up, login, logout, sessions and invitations, through the real pages."""

import time

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core import mail

from accounts.actors import Actor
from accounts.middleware import LOGIN_AT_KEY, SEEN_AT_KEY
from accounts.models import Membership, Plan, Role, User
from accounts.services import membership_invite
from tests import factories

pytestmark = pytest.mark.django_db
COOKIE = "authjs.session-token"


def signup(client, email, password=factories.PASSWORD):
    return client.post("/accounts/signup/", {"email": email, "password1": password, "password2": password}, follow=True)


def login(client, email, password=factories.PASSWORD):
    return client.post("/accounts/login/", {"login": email, "password": password})


def test_signup_creates_user_personal_free_workspace_and_owner_membership(client):
    response = signup(client, "Ada@Example.com")
    assert response.status_code == 200
    user = User.objects.get(email="ada@example.com")
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.OWNER
    assert membership.status == Membership.Status.ACTIVE
    assert membership.workspace.plan == Plan.FREE
    assert membership.workspace.name == "ada's workspace"
    me = client.get("/api/me").json()
    assert me["current_workspace"]["role"] == "owner"


def test_session_cookie_is_authjs_named_httponly_lax(client):
    factories.make_user("bo@example.com")
    response = login(client, "bo@example.com")
    assert response.status_code == 302
    cookie = response.cookies[COOKIE]
    assert settings.SESSION_COOKIE_NAME == COOKIE
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_login_rotates_session_key_and_logout_kills_the_old_cookie(client):
    factories.make_user("cy@example.com")
    client.get("/accounts/login/")
    client.session.save()
    before = client.cookies.get(COOKIE).value if COOKIE in client.cookies else None
    login(client, "cy@example.com")
    after = client.cookies[COOKIE].value
    assert after != before
    assert client.get("/api/me").status_code == 200

    client.post("/accounts/logout/")
    assert not Session.objects.filter(session_key=after).exists()
    replay = type(client)()
    replay.cookies[COOKIE] = after
    response = replay.get("/api/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_wrong_password_does_not_log_in(client):
    factories.make_user("di@example.com")
    response = login(client, "di@example.com", "wrong-password-123")
    assert response.status_code == 200
    assert client.get("/api/me").status_code == 401


def test_password_reset_sends_an_email(client):
    factories.make_user("ed@example.com")
    client.post("/accounts/password/reset/", {"email": "ed@example.com"})
    assert len(mail.outbox) == 1
    assert "ed@example.com" in mail.outbox[0].to


@pytest.mark.parametrize(
    ("login_age", "seen_age", "still_in"),
    [
        (10, 10, True),
        (10, settings.SESSION_IDLE_TIMEOUT + 5, False),  # idle timeout
        (settings.SESSION_ABSOLUTE_TIMEOUT + 5, 10, False),  # absolute timeout
    ],
)
def test_idle_and_absolute_session_timeouts(client, login_age, seen_age, still_in):
    user = factories.make_user()
    client.force_login(user)
    session = client.session
    now = int(time.time())
    session[LOGIN_AT_KEY] = now - login_age
    session[SEEN_AT_KEY] = now - seen_age
    session.save()
    assert (client.get("/api/me").status_code == 200) is still_in


def test_invitation_for_new_email_becomes_active_after_signup_and_confirmation(client, workspace, owner):
    membership_invite(workspace=workspace, actor=Actor.for_user(owner), email="new@example.com", role=Role.ADMIN)
    signup(client, "new@example.com")
    user = User.objects.get(email="new@example.com")
    invited = Membership.objects.get(workspace=workspace, invited_email="new@example.com")
    # An unverified email accepts nothing: anyone can type any address at sign-up.
    assert invited.status == Membership.Status.INVITED
    confirmation = mail.outbox[-1].body
    link = next(word for word in confirmation.split() if "/accounts/confirm-email/" in word)
    client.post(link[link.index("/accounts/") :])
    invited.refresh_from_db()
    assert invited.status == Membership.Status.ACTIVE
    assert invited.user == user
    assert invited.role == Role.ADMIN


def test_invitation_of_existing_user_is_accepted_at_login(client, workspace, owner):
    user = factories.make_user("old@example.com")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    membership_invite(workspace=workspace, actor=Actor.for_user(owner), email="OLD@example.com")
    assert Membership.objects.get(workspace=workspace, user=user).status == Membership.Status.INVITED
    login(client, "old@example.com")
    assert Membership.objects.get(workspace=workspace, user=user).status == Membership.Status.ACTIVE


def test_invite_api_for_admin_and_refusals(client, workspace, admin_user, member):
    client.force_login(admin_user)
    ok = client.post(
        "/api/members/invite", {"email": "x@example.com", "role": "member"}, content_type="application/json"
    )
    assert ok.status_code == 201
    assert ok.json()["status"] == "invited"
    again = client.post("/api/members/invite", {"email": "x@example.com"}, content_type="application/json")
    assert again.status_code == 409
    owner_invite = client.post(
        "/api/members/invite", {"email": "y@example.com", "role": "owner"}, content_type="application/json"
    )
    assert owner_invite.status_code == 403  # admins cannot grant owner
    bad = client.post("/api/members/invite", {"email": "not-an-email"}, content_type="application/json")
    assert bad.status_code == 400
    assert "email" in bad.json()["error"]["fields"]
    client.force_login(member)
    assert (
        client.post("/api/members/invite", {"email": "z@example.com"}, content_type="application/json").status_code
        == 403
    )


def test_invite_api_requires_csrf_with_a_session(workspace, owner):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post("/api/members/invite", {"email": "x@example.com"}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"

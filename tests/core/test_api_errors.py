"""Every answer under /api/ is the SPEC §3 envelope with the headers every other answer has;
bodies over 1 MiB are refused before any view (SPEC §10)."""

import json

import pytest

from accounts.models import Membership
from tests import factories

pytestmark = pytest.mark.django_db
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}


def assert_security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        assert response[name] == value, name
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("method", "path"), [("get", "/api/does-not-exist"), ("delete", "/api/v1/me"), ("get", "/api/me")]
)
def test_api_errors_answered_by_middleware_carry_the_security_headers(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code in {401, 404, 405}
    assert response.json()["error"]["request_id"] == response["X-Request-Id"]
    assert_security_headers(response)


def test_a_3_mb_invite_is_413_and_invites_nobody(client, owner, workspace):
    client.force_login(owner)
    body = json.dumps({"email": "new@example.com", "padding": "x" * 3_000_000})
    response = client.post("/api/members/invite", body, content_type="application/json")
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "payload_too_large"
    assert error["message"] == "The request body is larger than 1 MiB."
    assert error["hint"]
    assert_security_headers(response)
    assert not Membership.objects.filter(invited_email="new@example.com").exists()


def test_a_body_just_under_the_limit_reaches_the_view(client, owner):
    client.force_login(owner)
    # Padded with JSON whitespace: an unknown field would be refused by the view.
    body = json.dumps({"email": "new@example.com", "role": "member"}) + " " * 1_000_000
    response = client.post("/api/members/invite", body, content_type="application/json")
    assert response.status_code == 201


def test_an_oversized_key_request_is_413_before_authentication(api_client, secret_key):
    response = api_client.post(
        "/api/v1/me", "x" * (1024 * 1024 + 1), content_type="application/json", HTTP_AUTHORIZATION="Bearer wsk_bad"
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_an_oversized_page_post_is_a_plain_413(client):
    response = client.post("/accounts/login/", {"login": "a@example.com", "password": "x" * 2_000_000})
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/plain")
    assert_security_headers(response)


@pytest.mark.urls("tests.core.exploding_urls")
def test_an_api_500_is_json_without_a_traceback(client):
    client.raise_request_exception = False
    response = client.get("/api/buggy")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    assert "boom" not in response.content.decode()
    assert_security_headers(response)


def test_members_invite_conflict_says_what_to_do(client, owner, workspace):
    client.force_login(owner)
    member = factories.add_member(workspace)
    response = client.post("/api/members/invite", {"email": member.email}, content_type="application/json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("conflict", "That person is already a member or invited.")
    assert error["hint"]

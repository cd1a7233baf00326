"""API-key authentication claims only its own credentials, so other authenticators chain after it,
and a /api/v1/ request nobody claims gets a 401 whose hint says what to send instead."""

import pytest
from rest_framework.test import APIRequestFactory

from apikeys.authentication import ApiKeyAuthentication
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.apikeys.scoped_urls")]
WHO = "/api/probe/who"
ME = "/api/v1/me"
KEY_IN_URL_HINT = "Send the key as Authorization: Bearer <key>; keys in the URL are refused."


@pytest.mark.parametrize(
    "authorization",
    ["Bearer wst_0123456789abcdefghijkl", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", "Basic dXNlcjpwYXNz", "Token abc"],
)
def test_credentials_that_are_not_ours_are_left_to_the_next_authenticator(authorization):
    request = APIRequestFactory().get(WHO, HTTP_AUTHORIZATION=authorization)
    assert ApiKeyAuthentication().authenticate(request) is None


def test_a_foreign_bearer_token_gets_the_next_authenticators_turn(api_client):
    response = api_client.get(WHO, HTTP_AUTHORIZATION="Bearer wst_0123456789abcdefghijkl")
    assert response.status_code == 200
    assert response.json() == {"credential": "visitor:wst_0123456789abcdefghijkl"}


def test_our_own_keys_are_still_ours_in_a_chain(api_client, secret_key):
    key, plain = secret_key
    response = api_client.get(WHO, HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert response.json() == {"credential": "api_key", "hint": key.hint}


def test_a_mistyped_key_of_ours_is_refused_not_passed_on(api_client):
    """``wsk_``/``wpk_`` are ours even when malformed: a typo must not fall through to another scheme."""
    response = api_client.get(WHO, HTTP_AUTHORIZATION="Bearer wsk_test_typo")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


@pytest.mark.parametrize(
    ("request_kwargs", "code", "hint"),
    [
        (
            {"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"},
            "invalid_api_key",
            "Basic authentication is not accepted: send the key as Authorization: Bearer <key>.",
        ),
        (
            {"HTTP_AUTHORIZATION": "Bearer wst_0123456789abcdefghijkl"},
            "invalid_api_key",
            "This API takes a secret key (wsk_live_…) as Authorization: Bearer <key>.",
        ),
        ({"path": f"{ME}?api_key=wsk_live_abc"}, "api_key_required", KEY_IN_URL_HINT),
        ({"path": f"{ME}?key=anything"}, "api_key_required", KEY_IN_URL_HINT),
    ],
)
def test_unclaimed_requests_to_v1_say_what_to_send(api_client, request_kwargs, code, hint):
    path = request_kwargs.pop("path", ME)
    response = api_client.get(path, **request_kwargs)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"] == {"invalid_api_key": "Invalid API key", "api_key_required": "API key required"}[code]
    assert error["hint"] == hint
    assert response["WWW-Authenticate"].startswith('Bearer realm="api"')


def test_two_different_keys_in_two_headers_say_why(api_client, workspace, secret_key):
    _, other = factories.make_key(workspace)
    response = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {secret_key[1]}", HTTP_X_API_KEY=other)
    error = response.json()["error"]
    assert (response.status_code, error["code"], error["message"]) == (401, "invalid_api_key", "Invalid API key")
    assert error["hint"] == "Authorization and X-Api-Key carry different keys: send one key, in one header."


def test_the_plain_missing_key_hint_points_to_the_settings_page(api_client):
    error = api_client.get(ME).json()["error"]
    assert error["code"] == "api_key_required"
    assert "Settings → API Keys" in error["hint"]

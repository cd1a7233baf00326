"""Limits that no view ever sees past (SPEC §10): JSON depth and width, header size."""

from __future__ import annotations

import json
import os

import pytest
import requests

from tests.live import start_server, stop_server

pytestmark = pytest.mark.django_db


def nested(levels: int) -> str:
    return "[" * (levels - 1) + '{"email": "a@example.com"}' + "]" * (levels - 1)


def post(api_client, secret_key, body: str, path="/api/v1/tickets"):
    return api_client.generic(
        "POST", path, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {secret_key[1]}"
    )


def test_json_deeper_than_32_levels_is_400(api_client, secret_key):
    response = post(api_client, secret_key, json.dumps({"subject": "x", "body": "y", "extra": json.loads(nested(32))}))
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "The JSON body is nested deeper than 32 levels."


def test_json_of_32_levels_reaches_validation(api_client, secret_key):
    response = post(api_client, secret_key, nested(32))
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "non_field_errors": ["Invalid data. Expected a dictionary, but got list."]
    }


def test_a_megabyte_of_brackets_is_400_not_a_crash(api_client, secret_key):
    response = post(api_client, secret_key, "[" * (1024 * 1024 - 10))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_an_object_of_more_than_1000_keys_is_400(api_client, secret_key):
    wide = {f"k{i}": i for i in range(1001)}
    response = post(api_client, secret_key, json.dumps(wide))
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "A JSON object in the body has more than 1000 keys."
    ok = post(api_client, secret_key, json.dumps({f"k{i}": i for i in range(1000)}))
    assert "1000 keys" not in ok.json()["error"]["message"]  # refused for its unknown fields instead


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_numbers_are_refused(api_client, secret_key, constant):
    response = post(api_client, secret_key, f'{{"subject": {constant}}}')
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("Malformed JSON")


def test_a_header_over_8_kib_is_400_before_any_view(api_client, client, secret_key):
    response = api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret_key[1]}", HTTP_X_PADDING="x" * 9000)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "The X-Padding header is longer than 8 KiB."
    page = client.get("/accounts/login/", HTTP_X_PADDING="x" * 9000)
    assert page.status_code == 400


@pytest.mark.live
@pytest.mark.skipif(not os.environ.get("DATABASE_URL"), reason="gunicorn needs a database it can share (PostgreSQL)")
@pytest.mark.django_db(transaction=True)
def test_gunicorn_refuses_overlong_header_lines_itself_with_431():
    proc, url = start_server()
    try:
        assert requests.get(f"{url}/healthz", headers={"X-Padding": "x" * 9000}, timeout=5).status_code == 431
        assert requests.get(f"{url}/healthz", headers={"X-Padding": "x" * 7000}, timeout=5).status_code == 200
    finally:
        stop_server(proc)

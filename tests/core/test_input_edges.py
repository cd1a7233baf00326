"""Inputs that used to answer 500 (found by schemathesis and probing its neighbourhood):

- ``?updated_since=`` at the calendar's ends with an offset (``0001-01-01T00:00:00+01:00``:
  SQLite's UTC conversion overflowed) or an offset PostgreSQL refuses (``+23:59``);
- a NUL character in a query parameter or a path id (PostgreSQL refuses NUL in text),
  on the public API and on the in-app API.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apikeys.scopes import READ_WRITE
from tests import factories

pytestmark = pytest.mark.django_db
LISTS = ["/api/v1/contacts", "/api/v1/tickets", "/api/v1/conversations"]


@pytest.fixture
def client(workspace):
    _, plain = factories.make_key(workspace, scopes=READ_WRITE)
    return APIClient(HTTP_AUTHORIZATION=f"Bearer {plain}")


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_an_updated_since_out_of_range_is_a_400(client, url, value):
    response = client.get(url, {"updated_since": value})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"updated_since": ["This time is out of range."]}


@pytest.mark.parametrize("url", LISTS)
def test_any_offset_python_reads_is_compared_in_utc(client, workspace, url):
    factories.make_contact(workspace)
    response = client.get(url, {"updated_since": "2000-01-01T00:00:00+23:59"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/api/v1/contacts?email=a%00b", "email"),
        ("/api/v1/contacts?phone=%2B1%00", "phone"),
        ("/api/v1/conversations?assistant=ast_%00", "assistant"),
        ("/api/v1/tickets?cursor=%00", "cursor"),
    ],
)
def test_a_nul_in_a_query_parameter_is_a_400_naming_it(client, url, name):
    response = client.get(url)
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {name: ["Null characters are not allowed."]}


@pytest.mark.parametrize(
    "url", ["/api/v1/contacts/ct_%00", "/api/v1/tickets/%00", "/api/v1/conversations/conv_%00/messages"]
)
def test_a_nul_in_a_path_id_is_a_404(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert client.patch(url, {}, format="json").status_code in (404, 405)


def test_the_checks_still_answer_first(workspace):
    _, reader = factories.make_key(workspace, scopes=["tickets:read"])
    response = APIClient(HTTP_AUTHORIZATION=f"Bearer {reader}").get("/api/v1/contacts/ct_%00")
    assert response.status_code == 403
    assert APIClient().get("/api/v1/contacts?email=%00").status_code == 401


@pytest.mark.parametrize("url", ["/api/assistants/ast_%00", "/api/assistants/%00/grants", "/api/chats/%00/messages"])
def test_the_in_app_api_answers_a_nul_in_a_path_id_with_a_404(owner, url):
    client = APIClient()
    client.force_login(owner)
    response = client.get(url)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("query", ["updated_since=", "status="])
def test_an_empty_filter_is_a_400_naming_it_not_ignored(api_client, workspace, query):
    _key, plain = factories.make_key(workspace, scopes=["tickets:read"])
    response = api_client.get(f"/api/v1/tickets?{query}", HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert response.status_code == 400
    name = query.rstrip("=")
    assert name in response.json()["error"]["fields"]

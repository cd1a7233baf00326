"""Cursor pagination of the public API as a client walks it (SPEC §4)."""

from datetime import timedelta

import pytest
from django.core import signing
from django.utils import timezone

from accounts.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.pagination_urls")]
LIST = "/api/v1/test/audit-events"
INVALID_CURSOR = "Invalid cursor. Use the next or previous URL exactly as a list response gave it."
INVALID_LIMIT = "limit must be a whole number from 1 to 100."


def make_events(count: int, *, same_time_in_groups_of: int = 1) -> list[int]:
    """``count`` audit events; returns their ids newest first."""
    start = timezone.now()
    AuditEvent.objects.bulk_create(
        AuditEvent(action=f"event.{n}", created_at=start - timedelta(seconds=n // same_time_in_groups_of))
        for n in range(count)
    )
    return list(AuditEvent.objects.order_by("-created_at", "-id").values_list("id", flat=True))


def ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


def walk(client, url: str) -> list[list[int]]:
    """Every page, following ``next`` until it is null."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        pages.append(ids(response))
        url = response.json()["next"]
    return pages


def test_layout_of_a_page(api_client):
    make_events(3)
    body = api_client.get(LIST).json()
    assert list(body) == ["next", "previous", "results"]
    assert body["next"] is None
    assert body["previous"] is None
    assert list(body["results"][0]) == ["id", "action", "created_at"]


@pytest.mark.parametrize(
    ("count", "limit", "same_time_in_groups_of", "page_sizes"),
    [
        (57, 10, 1, [10, 10, 10, 10, 10, 7]),
        (30, 10, 1, [10, 10, 10]),
        (5, 10, 1, [5]),
        (0, 10, 1, [0]),
        (57, 10, 4, [10, 10, 10, 10, 10, 7]),  # rows sharing a timestamp, across page edges
        (40, 10, 15, [10, 10, 10, 10]),  # more rows on one timestamp than a page holds
    ],
)
def test_next_walks_every_row_once_newest_first(api_client, count, limit, same_time_in_groups_of, page_sizes):
    expected = make_events(count, same_time_in_groups_of=same_time_in_groups_of)
    pages = walk(api_client, f"{LIST}?limit={limit}")
    assert [len(page) for page in pages] == page_sizes
    assert [row for page in pages for row in page] == expected


def test_previous_goes_back(api_client):
    make_events(35)
    first = api_client.get(f"{LIST}?limit=10").json()
    second = api_client.get(first["next"]).json()
    third = api_client.get(second["next"]).json()
    back_to_second = api_client.get(third["previous"]).json()
    assert back_to_second["results"] == second["results"]
    back_to_first = api_client.get(back_to_second["previous"]).json()
    assert back_to_first["results"] == first["results"]
    assert back_to_first["previous"] is None


@pytest.mark.parametrize(
    ("query", "page_size"),
    [("", 25), ("?limit=1", 1), ("?limit=100", 100), ("?limit=101", 100), ("?limit=500", 100), ("?limit=007", 7)],
)
def test_limit_defaults_to_25_and_is_capped_at_100(api_client, query, page_size):
    make_events(120)
    response = api_client.get(f"{LIST}{query}")
    assert response.status_code == 200
    assert len(response.json()["results"]) == page_size


def test_next_keeps_the_limit(api_client):
    make_events(120)
    first = api_client.get(f"{LIST}?limit=500").json()
    assert "limit=500" in first["next"]
    assert len(api_client.get(first["next"]).json()["results"]) == 20


@pytest.mark.parametrize("limit", ["abc", "0", "000", "-5", "2.5", "1e2", "", " 5", "٣"])
def test_a_bad_limit_is_a_400_naming_limit(api_client, limit):
    make_events(3)
    response = api_client.get(LIST, {"limit": limit})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["fields"] == {"limit": [INVALID_LIMIT]}


def _real_cursor(api_client) -> str:
    make_events(30)
    next_url = api_client.get(f"{LIST}?limit=10").json()["next"]
    return api_client.get(next_url).wsgi_request.GET["cursor"]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda cursor: "garbage",
        lambda cursor: "",
        lambda cursor: "cD0yMDI0LTAxLTAx",  # DRF's own unsigned format, base64 of "p=2024-01-01"
        lambda cursor: cursor[:-1] + ("A" if cursor[-1] != "A" else "B"),  # signature edited
        lambda cursor: signing.Signer(salt="core.pagination.cursor").sign_object({"o": 0}),  # not our layout
        lambda cursor: signing.Signer(salt="another.salt").sign_object([0, 0, None]),
    ],
)
def test_a_malformed_or_tampered_cursor_is_a_400_naming_cursor(api_client, tamper):
    cursor = _real_cursor(api_client)
    response = api_client.get(LIST, {"cursor": tamper(cursor)})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["fields"] == {"cursor": [INVALID_CURSOR]}


def test_an_edited_payload_is_refused_even_with_a_plausible_position(api_client):
    cursor = _real_cursor(api_client)
    signature = cursor.rpartition(":")[2]
    forged = signing.b64_encode(b'[0,0,"2000-01-01 00:00:00+00:00"]').decode() + ":" + signature
    assert api_client.get(LIST, {"cursor": forged}).status_code == 400

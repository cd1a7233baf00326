"""``/api/v1/`` resolves each path once per process (core/urls.py): the same answers as Django's own."""

from __future__ import annotations

import pytest
from django.urls import Resolver404, get_resolver, resolve, reverse

from core import urls as memo
from core.urls import MemoizedResolver


def api_v1_resolver() -> MemoizedResolver:
    (found,) = [p for p in get_resolver().url_patterns if isinstance(p, MemoizedResolver)]
    return found


def test_a_remembered_path_resolves_as_the_first_time_and_each_path_keeps_its_own_arguments():
    first = resolve("/api/v1/contacts/ct_1")
    again = resolve("/api/v1/contacts/ct_1")
    other = resolve("/api/v1/contacts/ct_2")
    assert (
        (first.url_name, first.kwargs) == (again.url_name, again.kwargs) == ("api-v1-contact", {"contact_id": "ct_1"})
    )
    assert (other.url_name, other.kwargs) == ("api-v1-contact", {"contact_id": "ct_2"})
    assert "api/v1/contacts/ct_1" in api_v1_resolver()._matches
    assert reverse("api-v1-contact", kwargs={"contact_id": "ct_1"}) == "/api/v1/contacts/ct_1"


def test_a_path_that_matches_nothing_is_a_404_every_time_and_is_not_remembered():
    for _ in range(2):
        with pytest.raises(Resolver404):
            resolve("/api/v1/no-such-thing")
    assert "api/v1/no-such-thing" not in api_v1_resolver()._matches


def test_a_client_inventing_paths_costs_a_bounded_memory(client, monkeypatch):
    monkeypatch.setattr(memo, "MAX_MATCHES", 10)
    for n in range(25):
        resolve(f"/api/v1/contacts/ct_{n}")
    assert len(api_v1_resolver()._matches) <= 10
    assert resolve("/api/v1/contacts/ct_3").kwargs == {"contact_id": "ct_3"}


def test_a_real_request_is_answered_through_the_remembered_match(client):
    for _ in range(2):  # the second request takes the remembered match
        response = client.get("/api/v1/me")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "api_key_required"

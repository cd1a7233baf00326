"""``qnas`` and ``search``: the assistant's public Q&A for the widget (SPEC §5), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection

from accounts.actors import Actor
from assistants.services import assistant_update
from tests import factories
from tests.widget.conftest import SITE

pytestmark = pytest.mark.django_db

ENTRIES = (
    ("What are your opening hours?", "Monday to Friday, 9:00 to 17:00."),
    ("How do I get a refund?", "Reply to your order email within 30 days."),
    ("How long does shipping take?", "2–4 working days in the EU; refunds of shipping costs are not possible."),
)


@pytest.fixture
def faq_assistant(workspace):
    return factories.make_assistant(workspace, widget_enabled=True, allowed_origins=[SITE], faq=ENTRIES)


def get(client, assistant, endpoint, params=None, **headers):
    return client.get(
        f"/api/widget/{assistant.public_id}/{endpoint}", params or {}, headers={"Origin": SITE, **headers}
    )


def test_qnas_lists_the_faq_in_order_and_nothing_else(client, faq_assistant):
    response = get(client, faq_assistant, "qnas")
    assert response.status_code == 200
    assert response.json() == {"results": [{"question": q, "answer": a} for q, a in ENTRIES]}
    assert response.headers["Access-Control-Allow-Origin"] == SITE


def test_qnas_answers_304_to_a_matching_etag_and_200_after_a_change(client, faq_assistant, owner):
    etag = get(client, faq_assistant, "qnas").headers["ETag"]
    not_modified = get(client, faq_assistant, "qnas", **{"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["ETag"] == etag
    assert get(client, faq_assistant, "qnas", **{"If-None-Match": f"W/{etag}"}).status_code == 304
    assert get(client, faq_assistant, "qnas", **{"If-None-Match": '"other"'}).status_code == 200
    assistant_update(assistant=faq_assistant, actor=Actor.for_user(owner), faq=[{"question": "New?", "answer": "Yes."}])
    changed = get(client, faq_assistant, "qnas", **{"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


def test_the_origin_rules_apply(client, faq_assistant):
    for endpoint, params in (("qnas", None), ("search", {"q": "refund"})):
        response = client.get(
            f"/api/widget/{faq_assistant.public_id}/{endpoint}",
            params or {},
            headers={"Origin": "https://evil.example"},
        )
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "origin_not_allowed"
        assert "Access-Control-Allow-Origin" not in response.headers
        null = client.get(f"/api/widget/{faq_assistant.public_id}/{endpoint}", params or {}, headers={"Origin": "null"})
        assert null.status_code == 403


def test_a_disabled_widget_shows_no_faq(client, workspace):
    hidden = factories.make_assistant(workspace, widget_enabled=False, faq=ENTRIES)
    assert get(client, hidden, "qnas").status_code == 404
    assert get(client, hidden, "search", {"q": "refund"}).status_code == 404


def test_search_ranks_the_best_match_first(client, faq_assistant):
    response = get(client, faq_assistant, "search", {"q": "How can I get my money back? Refund please"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert results[0]["question"] == "How do I get a refund?"
    assert set(results[0]) == {"question", "answer", "score"}
    assert 0 < results[-1]["score"] <= results[0]["score"] <= 1
    # The shipping entry mentions refunds only in its answer: it may follow, never lead.
    assert [r["question"] for r in results].index("How do I get a refund?") == 0


def test_search_stems_words(client, faq_assistant):
    results = get(client, faq_assistant, "search", {"q": "refunds"}).json()["results"]
    assert results[0]["question"] == "How do I get a refund?"


@pytest.mark.parametrize("q", ["quantum chromodynamics", "the and of", "!!! & | :* ()"])
def test_search_without_a_match_is_empty_and_syntax_is_inert(client, faq_assistant, q):
    response = get(client, faq_assistant, "search", {"q": q})
    assert response.status_code == 200
    assert response.json() == {"results": []}


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "   "}, {"q": "x" * 201}])
def test_search_needs_a_query_of_1_to_200_characters(client, faq_assistant, params):
    response = get(client, faq_assistant, "search", params)
    assert response.status_code == 400
    assert "q" in response.json()["error"]["fields"]


def test_search_runs_on_this_database(client, faq_assistant):
    """The same expectations hold on SQLite (portable ranking) and PostgreSQL (full-text search)."""
    assert connection.vendor in {"sqlite", "postgresql"}
    assert get(client, faq_assistant, "search", {"q": "opening hours"}).json()["results"][0]["question"] == (
        "What are your opening hours?"
    )


@pytest.mark.parametrize(("endpoint", "params"), [("qnas", {}), ("search", {"q": "refund"})])
def test_qnas_and_search_are_rate_limited_per_ip(settings, client, faq_assistant, endpoint, params):
    settings.WIDGET_RATE_LIMITS = {**settings.WIDGET_RATE_LIMITS, endpoint: "2/m"}
    get(client, faq_assistant, endpoint, params)
    get(client, faq_assistant, endpoint, params)
    response = get(client, faq_assistant, endpoint, params)
    assert response.status_code == 429
    assert "Retry-After" in response.headers

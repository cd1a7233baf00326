"""Every widget endpoint is rate limited (SPEC §5): 429 ``rate_limited`` with ``Retry-After``.

The defaults are the spec's; each test lowers one limit to 2 so it is reached fast.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from tests.widget.conftest import SITE, Visitor

pytestmark = pytest.mark.django_db


def test_the_defaults_are_the_specs():
    assert settings.WIDGET_RATE_LIMITS == {
        "config": "120/m",
        "session": "20/m",
        "chat": "30/m",
        "history": "60/m",
        "lead": "10/h",
        "feedback": "10/h",
        "tickets": "5/h",
        "qnas": "120/m",
        "search": "60/m",
        "lead_ip": "30/h",
        "feedback_ip": "30/h",
        "preflight": "120/m",
    }


def _limit(settings, endpoint: str) -> None:
    settings.WIDGET_RATE_LIMITS = {**settings.WIDGET_RATE_LIMITS, endpoint: "2/m"}


def _limited(response) -> None:
    assert response.status_code == 429, response.content
    assert response.json()["error"]["code"] == "rate_limited"
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert response.headers["Access-Control-Allow-Origin"] == SITE  # the widget can read it


@pytest.mark.parametrize("endpoint", ["config", "session"])
def test_per_ip_endpoints_count_every_request_of_an_ip(settings, visitor, endpoint):
    _limit(settings, endpoint)
    call = (lambda: visitor.get("config")) if endpoint == "config" else (lambda: visitor.post("session", {"bad": 1}))
    call(), call()
    _limited(call())
    other_ip = Client(REMOTE_ADDR="198.51.100.9")
    elsewhere = Visitor(client=other_ip, assistant=visitor.assistant)
    assert (elsewhere.get("config") if endpoint == "config" else elsewhere.post("session")).status_code in {200, 201}


def test_unknown_assistants_count_too(settings, visitor):
    _limit(settings, "config")
    visitor.client.get("/api/widget/ast_nope/config", headers={"Origin": SITE})
    visitor.client.get("/api/widget/ast_nope2/config", headers={"Origin": SITE})
    _limited(visitor.get("config"))


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("chat", {"message": "hello"}),
        ("history", None),
        ("lead", {"email": "a@example.com"}),
        ("feedback", {"rating": "up"}),
    ],
)
def test_per_token_endpoints_count_per_token(settings, visitor, endpoint, body):
    _limit(settings, endpoint)
    visitor.start()

    def call():
        return visitor.get("history") if body is None else visitor.post(endpoint, body)

    assert call().status_code in {200, 201}
    call()
    _limited(call())
    visitor.start()  # a new token has its own count (the session limit is per IP)
    assert call().status_code in {200, 201}


def test_lead_and_feedback_default_to_ten_an_hour(visitor):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        visitor.start()
        for _ in range(10):
            assert visitor.post("feedback", {"rating": "up"}).status_code == 201
        response = visitor.post("feedback", {"rating": "up"})
        assert response.status_code == 429
        retry_after = int(response.headers["Retry-After"])
        assert 0 < retry_after <= 3600
        if retry_after > 61:  # windows are aligned per key: a minute later, an hourly one still holds
            clock.shift(timedelta(seconds=61))
            assert visitor.post("feedback", {"rating": "up"}).status_code == 429


def test_guessing_tokens_is_limited_per_ip(settings, visitor):
    settings.API_AUTH_FAILURE_RATE = "3/m"
    visitor.token = "wst_" + "A" * 40
    for _ in range(3):
        assert visitor.get("history").status_code == 401
    _limited(visitor.get("history"))

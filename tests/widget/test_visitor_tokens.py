"""Visitor tokens: bound to one assistant, visitor and conversation; 30 minutes idle, 24 hours at most.

Expiry is tested by moving the clock (time-machine), never by sleeping.
"""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from assistants.models import Conversation
from tests import factories
from tests.widget.conftest import SITE, Visitor
from widget.models import VisitorSession

pytestmark = pytest.mark.django_db


def _refused(response, hint_part: str = "") -> None:
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "invalid_session_token"
    assert hint_part in error.get("hint", "")


@pytest.mark.parametrize("endpoint", ["chat", "history", "lead", "feedback"])
def test_token_endpoints_need_the_token(visitor, endpoint):
    response = visitor.get(endpoint) if endpoint == "history" else visitor.post(endpoint, {})
    _refused(response)
    assert response.json()["error"]["message"] == "Visitor session token required"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("token", ["wst_" + "A" * 40, "wst_short", "wst_" + "!" * 40, "wst_" + "A" * 41])
def test_an_unknown_or_malformed_token_is_401_invalid_token(visitor, token):
    visitor.token = token
    response = visitor.get("history")
    _refused(response)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'


def test_a_token_of_assistant_a_is_refused_by_assistant_b(visitor, workspace):
    visitor.start()
    other = factories.make_assistant(workspace, widget_enabled=True, allowed_origins=[SITE])
    response = visitor.client.get(f"/api/widget/{other.public_id}/history", headers=visitor.headers())
    _refused(response)
    visitor.token = "wst_" + "A" * 40  # never issued: the same answer, so a token's validity elsewhere never shows
    unknown = visitor.client.get(f"/api/widget/{other.public_id}/history", headers=visitor.headers())
    assert {k: v for k, v in response.json()["error"].items() if k != "request_id"} == {
        k: v for k, v in unknown.json()["error"].items() if k != "request_id"
    }


def test_a_token_is_refused_after_30_minutes_unused(visitor):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        visitor.start()
        clock.shift(timedelta(minutes=29, seconds=59))
        assert visitor.get("history").status_code == 200
        clock.shift(timedelta(minutes=30))
        _refused(visitor.get("history"), "expired")


def test_use_keeps_a_token_alive_but_never_past_24_hours(visitor):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        visitor.start()
        for _ in range(int(24 * 60 / 20) - 1):  # a request every 20 minutes for almost 24 hours
            clock.shift(timedelta(minutes=20))
            assert visitor.get("history").status_code == 200
        clock.shift(timedelta(minutes=20, seconds=1))  # 24 h and a second after the start
        _refused(visitor.get("history"), "expired")


def test_expires_at_is_the_sooner_of_idle_and_the_cap(visitor):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        visitor.start()
        session = VisitorSession.objects.get()
        assert session.expires_at() == session.last_seen_at + timedelta(minutes=30)
        clock.shift(timedelta(hours=23, minutes=50))
        session.last_seen_at = timezone.now()
        assert session.expires_at() == session.absolute_expires_at


def test_the_idle_mark_is_written_at_most_once_a_minute(visitor):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        visitor.start()
        started = VisitorSession.objects.get().last_seen_at
        for _ in range(5):
            clock.shift(timedelta(seconds=10))
            assert visitor.get("history").status_code == 200
        assert VisitorSession.objects.get().last_seen_at == started  # 50 s of requests: no write
        clock.shift(timedelta(seconds=11))
        visitor.get("history")
        assert VisitorSession.objects.get().last_seen_at == timezone.now()


def test_a_session_deleted_in_the_admin_ends_at_once(visitor):
    visitor.start()
    VisitorSession.objects.all().delete()
    _refused(visitor.get("history"))


def test_a_logged_in_users_cookie_is_no_credential_here_and_none_is_set(visitor, owner):
    visitor.client.force_login(owner)
    response = visitor.get("history")
    _refused(response)
    response = visitor.post("session")
    assert response.status_code == 201
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")


def test_another_visitors_conversation_is_access_denied(widget_assistant):
    ann, bob = (
        Visitor(client=Client(), assistant=widget_assistant),
        Visitor(client=Client(), assistant=widget_assistant),
    )
    ann.start()
    bob_conversation = bob.start()["conversation_id"]
    response = ann.get("history", {"conversation_id": bob_conversation})
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "permission_denied",
        "message": "Access denied to this conversation",
        "request_id": response.json()["error"]["request_id"],
    }
    unknown = ann.get("history", {"conversation_id": "conv_nope"})  # no existence oracle: the same answer
    assert (unknown.status_code, unknown.json()["error"]["message"]) == (403, "Access denied to this conversation")


def test_pruning_forgets_expired_sessions_and_keeps_conversations(visitor):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        visitor.start()
        clock.shift(timedelta(minutes=20))
        live = Visitor(client=Client(), assistant=visitor.assistant)
        live.start()
        clock.shift(timedelta(minutes=11))  # the first is 31 minutes idle, the second 11
        out = StringIO()
        call_command("prune_widget_sessions", stdout=out)
        assert out.getvalue().strip() == "Deleted 1 expired visitor sessions."
        assert live.get("history").status_code == 200
        assert Conversation.objects.count() == 2

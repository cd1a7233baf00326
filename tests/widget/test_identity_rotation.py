"""Rolling the identity secret without logging visitors out (``previous_valid_for``).

An owner rolls the secret through the in-app API, as the app's settings page does; the
customer's server keeps signing with the old secret for a while. During the overlap
``user_token`` and ``user_hash`` made with either secret verify; after it only the new
one does. Time moves with time-machine.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import AuditEvent
from assistants.models import Assistant
from assistants.services import assistant_identity_secret_rotate, assistant_update
from tests.widget.conftest import Visitor
from tests.widget.test_identity import user_hash, user_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def old_secret(widget_assistant, owner) -> str:
    secret = assistant_identity_secret_rotate(assistant=widget_assistant, actor=Actor.for_user(owner))
    assistant_update(assistant=widget_assistant, actor=Actor.for_user(owner), identity_verification="required")
    return secret


def rotate(client: Client, assistant: Assistant, body=None):
    return client.post(
        f"/api/assistants/{assistant.public_id}/identity-secret",
        json.dumps(body) if body is not None else None,
        content_type="application/json",
    )


def verifies(assistant: Assistant, secret: str, user: str = "user-42") -> bool:
    """Whether a new visitor signed in with ``secret`` gets in (a token, and the older hash), each tried."""
    by_token = Visitor(Client(), assistant).post("session", {"user_token": user_token(secret, sub=user)})
    by_hash = Visitor(Client(), assistant).post("session", {"user_id": user, "user_hash": user_hash(secret, user)})
    assert by_token.status_code == by_hash.status_code, (by_token.content, by_hash.content)
    assert by_token.status_code in (201, 403), by_token.content
    if by_token.status_code == 403:
        assert by_token.json()["error"]["code"] == "identity_verification_failed"
        return False
    assert by_token.json()["verified"] is by_hash.json()["verified"] is True
    return True


@pytest.mark.parametrize(
    ("valid_for", "overlap"), [("1h", timedelta(hours=1)), ("24h", timedelta(hours=24)), ("7d", timedelta(days=7))]
)
def test_both_secrets_verify_during_the_overlap_and_only_the_new_one_after(
    owner_client, widget_assistant, old_secret, valid_for, overlap
):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        response = rotate(owner_client, widget_assistant, {"previous_valid_for": valid_for})
        assert response.status_code == 201, response.content
        assert response["Cache-Control"] == "no-store"
        new_secret = response.json()["identity_secret"]
        assert new_secret != old_secret
        until = response.json()["previous_valid_until"]
        assert until is not None
        assert verifies(widget_assistant, old_secret)
        assert verifies(widget_assistant, new_secret)

        clock.shift(overlap - timedelta(seconds=1))
        assert verifies(widget_assistant, old_secret)  # the last second of the overlap

        clock.shift(timedelta(seconds=2))
        assert not verifies(widget_assistant, old_secret)
        assert verifies(widget_assistant, new_secret)


def test_the_same_user_is_the_same_visitor_whichever_secret_vouched(owner_client, widget_assistant, old_secret):
    first = Visitor(Client(), widget_assistant).start(user_token=user_token(old_secret))
    new_secret = rotate(owner_client, widget_assistant, {"previous_valid_for": "24h"}).json()["identity_secret"]
    again = Visitor(Client(), widget_assistant).start(user_token=user_token(new_secret))
    assert again["visitor_id"] == first["visitor_id"]
    assert again["conversation_id"] == first["conversation_id"]


@pytest.mark.parametrize("body", [None, {}, {"previous_valid_for": "now"}])
def test_by_default_the_old_secret_stops_at_once(owner_client, widget_assistant, old_secret, body):
    response = rotate(owner_client, widget_assistant, body)
    assert response.status_code == 201
    assert response.json()["previous_valid_until"] is None
    assert not verifies(widget_assistant, old_secret)
    assert verifies(widget_assistant, response.json()["identity_secret"])


def test_rotating_again_ends_the_older_overlap(owner_client, widget_assistant, old_secret):
    second = rotate(owner_client, widget_assistant, {"previous_valid_for": "7d"}).json()["identity_secret"]
    third = rotate(owner_client, widget_assistant, {"previous_valid_for": "1h"}).json()["identity_secret"]
    assert not verifies(widget_assistant, old_secret)
    assert verifies(widget_assistant, second)
    assert verifies(widget_assistant, third)


@pytest.mark.parametrize(
    ("body", "field"),
    [({"previous_valid_for": "2h"}, "previous_valid_for"), ({"identity_secret": "mine"}, "identity_secret")],
)
def test_bad_bodies_are_400_and_change_nothing(owner_client, widget_assistant, old_secret, body, field):
    response = rotate(owner_client, widget_assistant, body)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert verifies(widget_assistant, old_secret)
    assert AuditEvent.objects.filter(action="assistant.identity_secret_rotated").count() == 1


def test_the_rotation_is_audited_with_its_overlap_and_never_the_secrets(owner_client, widget_assistant, old_secret):
    response = rotate(owner_client, widget_assistant, {"previous_valid_for": "24h"})
    new_secret = response.json()["identity_secret"]
    event = AuditEvent.objects.filter(action="assistant.identity_secret_rotated").latest("id")
    assert event.details["previous_valid_until"] == response.json()["previous_valid_until"].replace("Z", "+00:00")
    stored = json.dumps(list(AuditEvent.objects.values("details", "target_label")))
    assert old_secret not in stored
    assert new_secret not in stored
    detail = owner_client.get(f"/api/assistants/{widget_assistant.public_id}").content.decode()
    assert old_secret not in detail
    assert new_secret not in detail

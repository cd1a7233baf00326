"""``POST /api/v1/hooks/{id}/roll-secret``: a new signing secret, and an overlap without missed events.

During the overlap each delivery's ``webhook-signature`` carries one ``v1,…`` per live
secret, space-separated; a receiver verifying with the ``standardwebhooks`` library and
either secret accepts it. After the overlap only the new secret signs. Time moves with
time-machine; deliveries reach a real receiver on 127.0.0.1.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from accounts.actors import Actor
from accounts.models import AuditEvent
from apikeys.services import api_key_revoke
from core.crypto import decrypt
from core.events import emit
from tests import factories
from tests.openapi.conftest import served_document
from tests.openapi.test_schema import validate
from tests.webhooks.conftest import subscribe
from webhooks.models import Delivery, HookSubscription
from webhooks.services import delivery_attempt

pytestmark = pytest.mark.django_db


@pytest.fixture
def events_key(workspace):
    return factories.make_key(workspace, scopes=["events:read"])


def auth(plain: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {plain}"}


def roll(client, plain: str, hook_id: str, body=None):
    return client.post(f"/api/v1/hooks/{hook_id}/roll-secret", body, format="json", **auth(plain))


def deliver_one(workspace, receiver, capture, n: int):
    """Emit an event, make its one attempt now (as the worker does), and return what the receiver got."""
    with capture(execute=True):
        emit("contact.created", workspace_id=workspace.pk, data={"id": f"ct_{n}"})
    delivery = Delivery.objects.filter(status="pending").get()
    assert delivery_attempt(delivery_id=delivery.pk).status == "succeeded"
    return receiver.requests[-1]


def test_roll_answers_the_new_secret_once_and_audits(api_client, workspace, events_key, dev_targets):
    key, plain = events_key
    hook, old = subscribe(workspace, key, "http://127.0.0.1:9/hook")
    response = roll(api_client, plain, hook.public_id, {"previous_valid_for": "24h"})
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    data = response.json()
    assert set(data) == {"id", "target_url", "event", "created_at", "secret", "previous_secret_valid_until"}
    assert data["id"] == hook.public_id
    new = data["secret"]
    assert new.startswith("whsec_")
    assert new != old
    until = data["previous_secret_valid_until"]
    assert until.endswith("Z")
    stored = HookSubscription.objects.get(pk=hook.pk)
    assert decrypt(stored.secret_encrypted) == new
    assert decrypt(stored.previous_secret_encrypted) == old
    assert new not in stored.secret_encrypted
    # never shown again
    listed = api_client.get("/api/v1/hooks", **auth(plain))
    assert new not in listed.content.decode()
    assert old not in listed.content.decode()
    event = AuditEvent.objects.get(action="webhook.secret_rolled")
    assert event.actor_label == f"API key {key.hint}"
    assert event.details["id"] == hook.public_id
    assert event.details["previous_valid_until"] is not None
    assert new not in str(event.details)
    assert old not in str(event.details)
    validate(served_document(), "HookSecretRolledOutput", data)


@pytest.mark.parametrize("body", [None, {}, {"previous_valid_for": "now"}])
def test_without_an_overlap_the_old_secret_stops_at_once(api_client, workspace, events_key, dev_targets, body):
    key, plain = events_key
    hook, _old = subscribe(workspace, key, "http://127.0.0.1:9/hook")
    response = roll(api_client, plain, hook.public_id, body)
    assert response.status_code == 200, response.content
    assert response.json()["previous_secret_valid_until"] is None
    stored = HookSubscription.objects.get(pk=hook.pk)
    assert (stored.previous_secret_encrypted, stored.previous_secret_expires_at) == ("", None)
    assert AuditEvent.objects.get(action="webhook.secret_rolled").details["previous_valid_until"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"previous_valid_for": "2h"}, "previous_valid_for"),
        ({"previous_valid_for": 3600}, "previous_valid_for"),
        ({"secret": "whsec_mine"}, "secret"),
    ],
)
def test_bad_bodies_are_400_and_change_nothing(api_client, workspace, events_key, dev_targets, body, field):
    key, plain = events_key
    hook, old = subscribe(workspace, key, "http://127.0.0.1:9/hook")
    response = roll(api_client, plain, hook.public_id, body)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert decrypt(HookSubscription.objects.get(pk=hook.pk).secret_encrypted) == old
    assert not AuditEvent.objects.filter(action="webhook.secret_rolled").exists()


def test_another_workspaces_or_a_removed_hook_is_404_and_the_scope_is_events_read(
    api_client, workspace, events_key, dev_targets, owner
):
    key, plain = events_key
    other = factories.make_workspace()
    other_key, _ = factories.make_key(other, scopes=["events:read"])
    theirs, _ = subscribe(other, other_key, "http://127.0.0.1:9/hook")
    assert roll(api_client, plain, theirs.public_id).status_code == 404
    assert roll(api_client, plain, "hook_doesnotexist").status_code == 404
    _, reader = factories.make_key(workspace, scopes=["contacts:read"])
    mine, _ = subscribe(workspace, key, "http://127.0.0.1:9/hook")
    refused = roll(api_client, reader, mine.public_id)
    assert refused.status_code == 403
    assert refused.json()["error"]["required_scope"] == "events:read"
    api_client.delete(f"/api/v1/hooks/{mine.public_id}", **auth(plain))
    _, plain2 = factories.make_key(workspace, scopes=["events:read"])
    assert roll(api_client, plain2, mine.public_id).status_code == 404
    assert not AuditEvent.objects.filter(action="webhook.secret_rolled").exists()


def test_during_the_overlap_both_secrets_verify_and_after_it_only_the_new_one(
    api_client, workspace, events_key, receiver, dev_targets, django_capture_on_commit_callbacks
):
    key, plain = events_key
    hook, old = subscribe(workspace, key, receiver.url)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        new = roll(api_client, plain, hook.public_id, {"previous_valid_for": "1h"}).json()["secret"]

        during = deliver_one(workspace, receiver, django_capture_on_commit_callbacks, 1)
        signatures = during.headers["webhook-signature"].split(" ")
        assert len(signatures) == 2
        assert all(s.startswith("v1,") for s in signatures)
        for secret in (old, new):  # a receiver still on the old secret, or already on the new one
            assert Webhook(secret).verify(during.body, during.headers)["data"] == {"id": "ct_1"}
        assert signatures[0] == Webhook(new).sign(during.headers["webhook-id"], timezone.now(), during.body.decode())

        clock.shift(timedelta(minutes=59))
        late = deliver_one(workspace, receiver, django_capture_on_commit_callbacks, 2)
        assert Webhook(old).verify(late.body, late.headers)["data"] == {"id": "ct_2"}

        clock.shift(timedelta(minutes=1, seconds=1))  # the overlap is over
        after = deliver_one(workspace, receiver, django_capture_on_commit_callbacks, 3)
        assert " " not in after.headers["webhook-signature"]
        assert Webhook(new).verify(after.body, after.headers)["data"] == {"id": "ct_3"}
        with pytest.raises(WebhookVerificationError):
            Webhook(old).verify(after.body, after.headers)


def test_rolling_again_ends_the_older_overlap(
    api_client, workspace, events_key, receiver, dev_targets, django_capture_on_commit_callbacks
):
    key, plain = events_key
    hook, first = subscribe(workspace, key, receiver.url)
    second = roll(api_client, plain, hook.public_id, {"previous_valid_for": "7d"}).json()["secret"]
    third = roll(api_client, plain, hook.public_id, {"previous_valid_for": "1h"}).json()["secret"]
    request = deliver_one(workspace, receiver, django_capture_on_commit_callbacks, 1)
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (second, third):
        Webhook(secret).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(first).verify(request.body, request.headers)


def test_a_removed_subscription_forgets_both_secrets(
    api_client, workspace, events_key, dev_targets, owner, django_capture_on_commit_callbacks
):
    key, plain = events_key
    hook, _ = subscribe(workspace, key, "http://127.0.0.1:9/hook")
    roll(api_client, plain, hook.public_id, {"previous_valid_for": "24h"})
    with django_capture_on_commit_callbacks(execute=True):  # revoking the key removes its subscriptions
        api_key_revoke(key=key, actor=Actor.for_user(owner))
    stored = HookSubscription.objects.get(pk=hook.pk)
    assert stored.is_removed
    assert (stored.secret_encrypted, stored.previous_secret_encrypted, stored.previous_secret_expires_at) == (
        "",
        "",
        None,
    )

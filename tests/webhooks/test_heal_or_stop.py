"""Webhook endpoints that heal or stop: disabled after 5 days of failures (mailed once), replay, sequence numbers.

A real receiver on 127.0.0.1 answers; attempts run through ``delivery_attempt`` (what
the worker's ``deliver`` task runs), the clock moves with time-machine, e-mails are
read from Django's locmem outbox.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail

from accounts.models import AuditEvent
from core.events import emit
from tests import factories
from tests.webhooks.conftest import run_worker, subscribe
from webhooks.models import Delivery, HookSubscription
from webhooks.selectors import hook_list
from webhooks.services import delivery_attempt

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 4, 6, 9, 0, tzinfo=UTC)
DELIVERIES = "/admin/webhooks/delivery/"


@pytest.fixture
def events_key(workspace):
    key, _ = factories.make_key(workspace, scopes=["events:read"])
    return key


@pytest.fixture
def send(workspace, django_capture_on_commit_callbacks):
    """Emit one contact.created event (dispatched on commit, as in production); returns it."""

    def _send(n: int = 1, event_type: str = "contact.created"):
        with django_capture_on_commit_callbacks(execute=True):
            return emit(event_type, workspace_id=workspace.pk, data={"id": f"ct_{n}"})

    return _send


def attempt_pending(hook) -> list[str]:
    """One attempt of each due pending delivery of ``hook``, oldest first; their outcomes."""
    due = Delivery.objects.filter(subscription=hook, status="pending").order_by("pk")
    return [delivery_attempt(delivery_id=pk).status for pk in due.values_list("pk", flat=True)]


def test_an_endpoint_failing_for_5_days_is_disabled_and_its_owners_and_admins_mailed_once(
    workspace, owner, admin_user, events_key, receiver, dev_targets, send, django_capture_on_commit_callbacks
):
    receiver.default = 503
    with time_machine.travel(T0, tick=False):
        hook, _ = subscribe(workspace, events_key, receiver.url)
    for day in (0, 2, 4):
        with time_machine.travel(T0 + timedelta(days=day), tick=False):
            send(day)
            with django_capture_on_commit_callbacks(execute=True):
                attempt_pending(hook)
    hook.refresh_from_db()
    assert hook.disabled_at is None
    assert hook.consecutive_failures == 6  # each day also retries the earlier deliveries: 1 + 2 + 3
    assert mail.outbox == []

    with time_machine.travel(T0 + timedelta(days=5, minutes=1), tick=False):
        send(5)
        with django_capture_on_commit_callbacks(execute=True):
            outcomes = attempt_pending(hook)
    assert "gone" in outcomes
    hook.refresh_from_db()
    assert hook.disabled_reason == HookSubscription.Removed.DISABLED_FAILING
    assert hook.disabled_at is not None
    assert not hook_list(workspace_id=workspace.pk).exists()  # gone from the API
    assert not Delivery.objects.filter(subscription=hook, status="pending").exists()
    assert sorted(m.to[0] for m in mail.outbox) == sorted([owner.email, admin_user.email])
    message = mail.outbox[0]
    assert message.subject == f"[Parley] Webhook {hook.public_id} was disabled: its deliveries kept failing"
    assert receiver.url in message.body
    assert "HTTP 503" in message.body
    assert AuditEvent.objects.filter(action="webhook.disabled", details__reason="disabled_failing").count() == 1

    requests_before = len(receiver.requests)
    with time_machine.travel(T0 + timedelta(days=6), tick=False):
        send(6)
        with django_capture_on_commit_callbacks(execute=True):
            attempt_pending(hook)
    assert len(receiver.requests) == requests_before  # nothing more is sent
    assert len(mail.outbox) == 2  # and nobody is mailed again


def test_a_success_ends_the_streak(workspace, events_key, receiver, dev_targets, send):
    receiver.statuses = [503, 503, 200]
    receiver.default = 503
    with time_machine.travel(T0, tick=False):
        hook, _ = subscribe(workspace, events_key, receiver.url)
    # Fails on day 0, gets through on day 2, fails again from day 3: the 5 days count from day 3.
    for day in (0, 2, 3, 6, 7):
        with time_machine.travel(T0 + timedelta(days=day), tick=False):
            send(day)
            attempt_pending(hook)
    hook.refresh_from_db()
    assert hook.disabled_at is None
    assert hook.failing_since == T0 + timedelta(days=3)
    with time_machine.travel(T0 + timedelta(days=8), tick=False):
        send(8)
        attempt_pending(hook)
    hook.refresh_from_db()
    assert hook.disabled_reason == "disabled_failing"


def test_n_failed_attempts_in_a_row_disable_it_when_the_setting_says_so(
    workspace, events_key, receiver, dev_targets, send, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    receiver.default = 500
    hook, _ = subscribe(workspace, events_key, receiver.url)
    send()
    with django_capture_on_commit_callbacks(execute=True):
        delivery = Delivery.objects.get(subscription=hook)
        for n in range(3):
            with time_machine.travel(T0 + timedelta(hours=n), tick=False):
                Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=T0 + timedelta(hours=n))
                delivery_attempt(delivery_id=delivery.pk)
    hook.refresh_from_db()
    assert hook.disabled_reason == "disabled_failing"
    assert len(receiver.requests) == 3
    assert len(mail.outbox) == 1  # the owner (the only manager)


def test_each_delivery_carries_a_sequence_number_increasing_per_subscription(
    workspace, events_key, receiver, dev_targets, send
):
    first, _ = subscribe(workspace, events_key, receiver.url + "?a")
    second, _ = subscribe(workspace, events_key, receiver.url + "?b")
    for n in range(3):
        send(n)
    for hook in (first, second):
        attempt_pending(hook)
    by_target: dict[str, list[int]] = {}
    for request in receiver.requests:
        by_target.setdefault(request.path, []).append(int(request.headers["webhook-sequence"]))
    assert by_target == {"/hook?a": [1, 2, 3], "/hook?b": [1, 2, 3]}


def _replay(api_client, plain: str, hook_id: str, event_id: str):
    return api_client.post(
        f"/api/v1/hooks/{hook_id}/replay",
        {"event_id": event_id},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {plain}",
    )


@pytest.mark.django_db(transaction=True)
def test_replay_sends_an_event_again_with_the_next_sequence(workspace, receiver, dev_targets, api_client):
    key, plain = factories.make_key(workspace, scopes=["events:read"])
    hook, _ = subscribe(workspace, key, receiver.url)
    event = emit("contact.created", workspace_id=workspace.pk, data={"id": "ct_1"})
    run_worker()
    assert len(receiver.requests) == 1

    answer = _replay(api_client, plain, hook.public_id, event.id)
    assert answer.status_code == 202
    body = answer.json()
    assert body["hook_id"] == hook.public_id
    assert body["event_id"] == event.id
    assert body["sequence"] == 2
    assert body["status"] == "pending"
    assert Delivery.objects.get(pk=body["id"]).is_replay
    run_worker()
    assert len(receiver.requests) == 2
    again = receiver.requests[1]
    assert again.headers["webhook-id"] == event.id  # the same event: a receiver may dedupe on it
    assert again.headers["webhook-sequence"] == "2"
    assert again.body == receiver.requests[0].body
    assert AuditEvent.objects.filter(action="webhook.event_replayed").count() == 1

    other = factories.make_workspace()
    other_key, other_plain = factories.make_key(other, scopes=["events:read"])
    other_hook, _ = subscribe(other, other_key, receiver.url)
    other_event = emit("contact.created", workspace_id=other.pk, data={"id": "ct_2"})
    assert _replay(api_client, plain, hook.public_id, "evt_unknown").status_code == 404
    assert _replay(api_client, plain, hook.public_id, other_event.id).status_code == 404
    missing_hook = _replay(api_client, plain, other_hook.public_id, event.id)
    assert missing_hook.status_code == 404
    assert missing_hook.json()["error"]["code"] == "not_found"
    ticket = emit("ticket.created", workspace_id=workspace.pk, data={"id": "tk_1"})
    wrong_type = _replay(api_client, plain, hook.public_id, ticket.id)
    assert wrong_type.status_code == 400
    assert "contact.created" in wrong_type.json()["error"]["fields"]["event_id"][0]
    _, read_only = factories.make_key(workspace, scopes=["contacts:read"])
    assert _replay(api_client, read_only, hook.public_id, event.id).status_code == 403
    assert _replay(api_client, other_plain, other_hook.public_id, other_event.id).status_code == 202


def test_support_re_sends_an_event_from_the_admin(client, workspace, events_key, dev_targets, send):
    support = factories.make_user("support@example.com", is_staff=True)
    support.groups.add(Group.objects.get(name="Support"))
    subscribe(workspace, events_key, "http://127.0.0.1:9/hook")
    send()
    delivery = Delivery.objects.get()
    client.force_login(support)
    page = client.post(DELIVERIES, {"action": "resend", "_selected_action": [delivery.pk]}, follow=True)
    assert "Queued 1 new deliveries" in page.content.decode()
    replay = Delivery.objects.get(is_replay=True)
    assert replay.event_id == delivery.event_id
    assert replay.sequence == delivery.sequence + 1
    assert replay.status == "pending"

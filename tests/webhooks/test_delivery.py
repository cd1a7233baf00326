"""Deliveries end to end: a real receiver on 127.0.0.1, the real worker, Standard Webhooks verification.

Events are produced with ``core.events.emit`` (the CRM will emit its own). Tests that
run the worker are transactional: the event's on-commit receiver runs for real, and
the worker's connection handling needs real commits.
"""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from standardwebhooks.webhooks import Webhook

from accounts.actors import Actor
from accounts.models import AuditEvent
from apikeys.models import ApiKey
from apikeys.services import api_key_revoke, api_key_roll
from core.events import emit
from core.models import Event
from tests import factories
from tests.webhooks.conftest import make_due, run_worker, subscribe
from webhooks import services
from webhooks.events import event_body
from webhooks.models import Delivery, HookSubscription
from webhooks.services import MAX_ATTEMPTS, RETRY_SCHEDULE, delivery_attempt, event_dispatch
from webhooks.tasks import deliver, sweep, sweep_ensure_scheduled, sweep_once

live = pytest.mark.django_db(transaction=True)


@pytest.fixture
def events_key(workspace):
    key, _ = factories.make_key(workspace, scopes=["events:read"])
    return key


def verify(secret: str, request) -> dict:
    """What a receiver does: ``standardwebhooks.Webhook(secret).verify(body, headers)``."""
    return Webhook(secret).verify(request.body, request.headers)


@live
def test_a_delivery_reaches_a_real_receiver_signed_as_standard_webhooks_says(
    workspace, events_key, receiver, dev_targets
):
    hook, secret = subscribe(workspace, events_key, receiver.url)
    other_type, _ = subscribe(workspace, events_key, receiver.url + "?other", event="ticket.created")
    with transaction.atomic():
        event = emit("contact.created", workspace_id=workspace.pk, data={"id": "ct_1", "email": "ada@example.com"})
        assert Delivery.objects.count() == 0  # nothing before commit
    delivery = Delivery.objects.get()  # created on commit, for the matching subscription only
    assert delivery.subscription == hook
    assert delivery.status == "pending"
    assert receiver.requests == []  # not in the request: the worker sends it

    run_worker()

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request.path == "/hook"
    payload = verify(secret, request)
    assert payload == {
        "id": event.id,
        "type": "contact.created",
        "created_at": payload["created_at"],
        "data": {"id": "ct_1", "email": "ada@example.com"},
    }
    assert payload["created_at"].endswith("Z")
    assert request.headers["webhook-id"] == event.id
    assert abs(int(request.headers["webhook-timestamp"]) - timezone.now().timestamp()) < 60
    assert request.headers["webhook-signature"].startswith("v1,")
    assert request.headers["content-type"] == "application/json"
    assert request.body == event_body(Event.objects.get(public_id=event.id))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)
    assert delivery.next_attempt_at is None
    assert delivery.finished_at is not None
    assert Event.objects.get(public_id=event.id).dispatched_at is not None
    assert not other_type.deliveries.exists()


@live
def test_a_failed_attempt_is_retried_with_the_same_webhook_id(workspace, events_key, receiver, dev_targets):
    _, secret = subscribe(workspace, events_key, receiver.url)
    receiver.statuses = [500]
    event = emit("contact.created", workspace_id=workspace.pk, data={"id": "ct_2"})

    run_worker()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert delivery.next_attempt_at == delivery.last_attempt_at + RETRY_SCHEDULE[0]
    # the retry is queued for when it is due, not before
    retry = DBTaskResult.objects.get(task_path=deliver.module_path, status=TaskResultStatus.READY)
    assert retry.run_after == delivery.next_attempt_at
    run_worker()
    assert len(receiver.requests) == 1

    make_due(delivery)  # time moves forward
    run_worker()

    assert len(receiver.requests) == 2
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == event.id
    assert verify(secret, second)["id"] == event.id
    assert first.body == second.body
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 2, 200)


def test_a_failing_receiver_is_retried_on_the_backoff_schedule_then_failed(
    workspace, events_key, receiver, dev_targets, django_capture_on_commit_callbacks
):
    """The attempt is called as the worker calls it, with a clock moved to each due time."""
    _, secret = subscribe(workspace, events_key, receiver.url, event="ticket.updated")
    receiver.default = 500
    with django_capture_on_commit_callbacks(execute=True):
        event = emit("ticket.updated", workspace_id=workspace.pk, data={"id": "tk_2"})
    delivery = Delivery.objects.get()

    clock = delivery.next_attempt_at
    times = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        # not due a second early
        if attempt > 1:
            assert delivery_attempt(delivery_id=delivery.pk, now=clock - timedelta(seconds=1)).status == "skipped"
        outcome = delivery_attempt(delivery_id=delivery.pk, now=clock)
        times.append(clock)
        delivery.refresh_from_db()
        assert delivery.attempts == attempt
        assert delivery.last_status_code == 500
        assert delivery.last_error.startswith("HTTP 500")
        if attempt < MAX_ATTEMPTS:
            assert outcome.status == "pending"
            assert outcome.retry_at == clock + RETRY_SCHEDULE[attempt - 1] == delivery.next_attempt_at
            clock = delivery.next_attempt_at
        else:
            assert outcome.status == "failed"
            assert delivery.status == "failed"
            assert delivery.next_attempt_at is None

    assert MAX_ATTEMPTS >= 6
    assert [b - a for a, b in itertools.pairwise(times)] == list(RETRY_SCHEDULE)
    assert times[-1] - times[0] > timedelta(hours=12)  # over hours
    assert len(receiver.requests) == MAX_ATTEMPTS
    webhook = Webhook(secret)
    for request, when in zip(receiver.requests, times, strict=True):
        assert request.headers["webhook-id"] == event.id
        assert request.headers["webhook-timestamp"] == str(int(when.timestamp()))
        expected = webhook.sign(event.id, when, request.body.decode())
        assert request.headers["webhook-signature"] == expected
    # nothing more once failed
    assert delivery_attempt(delivery_id=delivery.pk, now=clock + timedelta(days=1)).status == "skipped"
    assert len(receiver.requests) == MAX_ATTEMPTS


@live
def test_410_gone_removes_the_subscription(workspace, events_key, receiver, dev_targets):
    hook, _ = subscribe(workspace, events_key, receiver.url)
    receiver.statuses = [410]
    emit("contact.created", workspace_id=workspace.pk, data={"n": 1})
    run_worker()

    hook.refresh_from_db()
    assert hook.is_removed
    assert hook.disabled_reason == "gone"
    assert hook.secret_encrypted == ""
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == ("gone", 410)
    assert AuditEvent.objects.filter(action="webhook.removed", details__reason="gone").exists()

    emit("contact.created", workspace_id=workspace.pk, data={"n": 2})
    run_worker()
    assert len(receiver.requests) == 1
    assert Delivery.objects.count() == 1


@live
def test_other_statuses_timeouts_and_redirects_are_retried(workspace, events_key, receiver, dev_targets):
    subscribe(workspace, events_key, receiver.url)
    receiver.statuses = [302]
    receiver.headers_out = {"Location": f"http://127.0.0.1:{receiver.port}/elsewhere"}
    emit("contact.created", workspace_id=workspace.pk, data={})
    run_worker()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == ("pending", 302)
    assert "redirects are not followed" in delivery.last_error
    assert [r.path for r in receiver.requests] == ["/hook"]  # the redirect was not followed


@live
def test_a_delivery_left_unfinished_by_a_killed_worker_is_retried_by_the_sweep(
    workspace, events_key, receiver, dev_targets
):
    _, secret = subscribe(workspace, events_key, receiver.url, event="lead.captured")
    event = emit("lead.captured", workspace_id=workspace.pk, data={"email": "lead@example.com"})
    delivery = Delivery.objects.get()
    # A worker claimed the task and the attempt (the lease), then was killed mid-request:
    # its task stays "running" for ever, and the delivery pending with its lease.
    task = DBTaskResult.objects.get(task_path=deliver.module_path, status=TaskResultStatus.READY)
    long_ago = timezone.now() - timedelta(hours=1)
    DBTaskResult.objects.filter(pk=task.pk).update(status=TaskResultStatus.RUNNING, started_at=long_ago)
    Delivery.objects.filter(pk=delivery.pk).update(
        attempts=1, last_attempt_at=long_ago, next_attempt_at=long_ago + services.attempt_lease()
    )
    run_worker()
    assert receiver.requests == []  # nothing picks it up by itself

    sweep.enqueue()  # the sweep the worker runs every minute
    run_worker()

    assert len(receiver.requests) == 1
    assert receiver.requests[0].headers["webhook-id"] == event.id
    assert verify(secret, receiver.requests[0])["data"] == {"email": "lead@example.com"}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)


@live
def test_an_event_whose_dispatch_was_missed_is_dispatched_by_the_sweep(workspace, events_key, receiver, dev_targets):
    """The change committed but the process died before the on-commit receiver ran."""
    hook, secret = subscribe(workspace, events_key, receiver.url)
    HookSubscription.objects.filter(pk=hook.pk).update(created_at=timezone.now() - timedelta(hours=1))
    row = Event.objects.create(type="contact.created", workspace_id=workspace.pk, data={"id": "ct_9"})
    assert sweep_once()["dispatched"] == 0  # fresh events are left to the on-commit receiver
    Event.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(minutes=1))

    counts = sweep_once()
    run_worker()

    assert counts["dispatched"] == 1
    assert len(receiver.requests) == 1
    assert verify(secret, receiver.requests[0])["id"] == row.public_id
    assert sweep_once()["dispatched"] == 0  # once
    run_worker()
    assert len(receiver.requests) == 1


def test_a_subscription_gets_only_events_after_it_was_made(
    workspace, events_key, dev_targets, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        before = emit("contact.created", workspace_id=workspace.pk, data={})
    subscribe(workspace, events_key, receiver.url)
    row = Event.objects.get(public_id=before.id)
    Event.objects.filter(pk=row.pk).update(dispatched_at=None)  # even if it is dispatched late
    assert event_dispatch(event_id=row.pk) == []


def test_dispatch_is_idempotent(workspace, events_key, dev_targets, receiver):
    subscribe(workspace, events_key, receiver.url)
    row = Event.objects.create(type="contact.created", workspace_id=workspace.pk, data={})
    first = event_dispatch(event_id=row.pk)
    assert len(first) == 1
    assert event_dispatch(event_id=row.pk) == []
    assert Delivery.objects.count() == 1


@live
def test_revoking_the_key_removes_its_subscriptions_and_the_next_event_reaches_nobody(
    workspace, owner, receiver, dev_targets
):
    key, _ = factories.make_key(workspace, scopes=["events:read"])
    other_key, _ = factories.make_key(workspace, scopes=["events:read"])
    hook, _ = subscribe(workspace, key, receiver.url)
    kept, _ = subscribe(workspace, other_key, receiver.url + "?kept")
    # an event already on its way when the key is revoked: it is not sent either
    emit("contact.created", workspace_id=workspace.pk, data={"n": 1})
    assert hook.deliveries.get().status == "pending"

    api_key_revoke(key=key, actor=Actor.for_user(owner))

    hook.refresh_from_db()
    assert hook.is_removed
    assert hook.disabled_reason == "key_revoked"
    assert hook.deliveries.get().status == "gone"
    emit("contact.created", workspace_id=workspace.pk, data={"n": 2})
    run_worker()
    assert {r.path for r in receiver.requests} == {"/hook?kept"}  # only the other key's subscription
    assert hook.deliveries.count() == 1
    kept.refresh_from_db()
    assert not kept.is_removed


@live
def test_a_subscription_whose_key_expired_is_removed_at_delivery_and_nothing_is_sent(
    workspace, owner, receiver, dev_targets
):
    """A rolled key past its grace: the next delivery removes its subscription instead of sending."""
    key, _ = factories.make_key(workspace, scopes=["events:read"])
    hook, _ = subscribe(workspace, key, receiver.url)
    emit("contact.created", workspace_id=workspace.pk, data={})
    api_key_roll(key=key, actor=Actor.for_user(owner), grace=timedelta(hours=1))
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    run_worker()

    assert receiver.requests == []
    assert receiver.connections == 0
    hook.refresh_from_db()
    assert hook.is_removed
    assert hook.disabled_reason == "key_expired"
    assert hook.deliveries.get().status == "gone"


def test_the_sweep_removes_subscriptions_of_keys_that_stopped_working(workspace, receiver, dev_targets):
    key, _ = factories.make_key(workspace, scopes=["events:read"])
    hook, _ = subscribe(workspace, key, receiver.url)
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())  # as if the receiver never heard
    assert sweep_once()["removed"] == 1
    hook.refresh_from_db()
    assert hook.disabled_reason == "key_revoked"


@live
def test_a_deleted_subscription_gets_nothing(workspace, events_key, receiver, dev_targets):
    hook, _ = subscribe(workspace, events_key, receiver.url)
    emit("contact.created", workspace_id=workspace.pk, data={})
    services.hook_delete(hook=hook, actor=Actor.for_api_key(key_id=events_key.pk, hint=events_key.hint))
    emit("contact.created", workspace_id=workspace.pk, data={})
    run_worker()
    assert receiver.requests == []
    assert list(Delivery.objects.values_list("status", flat=True)) == ["gone"]


@live
def test_events_of_other_workspaces_and_types_reach_nobody(workspace, events_key, receiver, dev_targets):
    subscribe(workspace, events_key, receiver.url)
    other = factories.make_workspace()
    emit("contact.created", workspace_id=other.pk, data={})
    emit("contact.updated", workspace_id=workspace.pk, data={})
    emit("internal.thing", workspace_id=workspace.pk, data={})
    run_worker()
    assert receiver.requests == []
    assert not Delivery.objects.exists()
    assert not Event.objects.filter(dispatched_at__isnull=True).exists()


@live
def test_the_sweep_keeps_itself_scheduled(workspace, events_key, receiver, dev_targets):
    DBTaskResult.objects.all().delete()
    sweeps = DBTaskResult.objects.filter(task_path=sweep.module_path)
    assert sweep_ensure_scheduled() is True
    assert sweep_ensure_scheduled() is False  # one is queued
    queued = sweeps.get()
    assert queued.run_after > timezone.now()
    # it runs, and queues the next one
    sweeps.update(run_after=timezone.now() - timedelta(seconds=1))
    run_worker()
    assert sweeps.filter(status=TaskResultStatus.SUCCESSFUL).count() == 1
    assert sweeps.filter(status=TaskResultStatus.READY).count() == 1
    # a sweep "running" for too long belonged to a killed worker: another is queued
    sweeps.filter(status=TaskResultStatus.READY).update(
        status=TaskResultStatus.RUNNING, started_at=timezone.now() - timedelta(hours=1)
    )
    assert sweep_ensure_scheduled() is True
    # every event commit makes sure of it too
    DBTaskResult.objects.all().delete()
    emit("contact.created", workspace_id=workspace.pk, data={})
    assert sweeps.filter(status=TaskResultStatus.READY).count() == 1


def test_the_delivery_body_is_compact_utf8_json(workspace, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        event = emit("contact.created", workspace_id=workspace.pk, data={"name": "Zoë"})
    body = event_body(Event.objects.get(public_id=event.id))
    assert "Zoë".encode() in body
    assert b", " not in body
    assert b": " not in body
    assert json.loads(body)["data"] == {"name": "Zoë"}


def test_workspace_deletion_forgets_its_events(workspace, owner, django_capture_on_commit_callbacks):
    from accounts.services import workspace_delete

    with django_capture_on_commit_callbacks(execute=True):
        emit("contact.created", workspace_id=workspace.pk, data={"email": "ada@example.com"})
        kept = emit("contact.created", workspace_id=factories.make_workspace().pk, data={})
    workspace_delete(workspace=workspace, actor=Actor.for_user(owner), confirm=workspace.name)
    assert list(Event.objects.values_list("public_id", flat=True)) == [kept.id]

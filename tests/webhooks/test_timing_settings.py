"""The delivery timing is settings (``WEBHOOK_*_SECONDS``) with production's defaults: bench/soak shortens it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.events import emit
from tests import factories
from tests.webhooks.conftest import subscribe
from webhooks import services, tasks
from webhooks.models import Delivery


def test_the_defaults_are_production_s():
    assert services.attempt_lease() == timedelta(minutes=2)
    assert services.requeue_after() == timedelta(minutes=5)
    assert services.dispatch_after() == timedelta(seconds=30)
    assert tasks.sweep_interval() == timedelta(minutes=1)
    assert tasks.sweep_dead_after() == timedelta(minutes=10)


@pytest.mark.django_db(transaction=True)
def test_shorter_settings_bring_a_lost_delivery_back_sooner(settings, workspace, receiver, dev_targets):
    settings.WEBHOOK_ATTEMPT_LEASE_SECONDS = 3
    settings.WEBHOOK_REQUEUE_AFTER_SECONDS = 2
    key, _ = factories.make_key(workspace, scopes=["events:read"])
    subscribe(workspace, key, receiver.url)
    emit("contact.created", workspace_id=workspace.pk, data={"id": "ct_1"})
    delivery = Delivery.objects.get()
    now = timezone.now()
    # A worker claimed the attempt and was killed: the lease is 3 s, not 2 minutes.
    Delivery.objects.filter(pk=delivery.pk).update(attempts=1, next_attempt_at=now + services.attempt_lease())
    assert services.deliveries_requeue_stale(now=now + timedelta(seconds=4)) == []  # lease over, not yet stale
    assert services.deliveries_requeue_stale(now=now + timedelta(seconds=6)) == [delivery.pk]

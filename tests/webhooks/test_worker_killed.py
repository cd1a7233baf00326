"""A task worker SIGKILLed in the middle of a delivery (SPEC §10): the event still arrives, with the same id.

A real ``manage.py db_worker`` process sends the delivery; the receiver takes the
request and does not answer; the worker is killed. Once the delivery's 2-minute lease
is over (moved forward here, not waited for), the sweep puts it back in line and the
next worker delivers it again: at least once, with the same ``webhook-id``.
PostgreSQL pass only (the worker is another process on the same database).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from core.events import emit
from tests import factories
from tests.live import ROOT, database_url
from tests.webhooks.conftest import run_worker, subscribe
from webhooks.models import Delivery
from webhooks.tasks import sweep

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not os.environ.get("DATABASE_URL"), reason="the worker process needs a shared PostgreSQL"),
]


def start_worker() -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-startup-delay", "--interval", "0.1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.django_db(transaction=True)
def test_a_delivery_cut_off_by_a_killed_worker_arrives_again_with_the_same_id(receiver, dev_targets):
    assert connection.vendor == "postgresql"
    workspace = factories.make_workspace()
    key, _plain = factories.make_key(workspace, scopes=["events:read"])
    _hook, secret = subscribe(workspace, key, receiver.url)
    receiver.hold_next = True
    worker = start_worker()
    try:
        event = emit("contact.created", workspace_id=workspace.pk, data={"id": "ct_1", "email": "ada@example.com"})
        deadline = time.monotonic() + 30
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(receiver.requests) == 1, "the worker never sent the delivery"
        worker.send_signal(signal.SIGKILL)  # mid-delivery: the request is out, its answer never read
        worker.wait(10)
    finally:
        receiver.release.set()
        if worker.poll() is None:
            worker.kill()
    delivery = Delivery.objects.get()
    assert delivery.status == "pending"  # nothing recorded an outcome

    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=10))
    sweep.enqueue()  # the sweep the worker runs every minute
    run_worker()

    assert len(receiver.requests) == 2
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == event.id
    assert Webhook(secret).verify(second.body, second.headers)["data"]["email"] == "ada@example.com"
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"

"""``Idempotency-Key`` on ``POST /api/v1/…`` (SPEC §10): retries replay, create nothing twice."""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from io import StringIO

import psycopg
import pytest
import requests
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from apikeys.models import IdempotencyRecord
from core.models import Event
from crm.models import Contact
from tests import factories
from tests.live import database_url, start_server, stop_server

pytestmark = pytest.mark.django_db
CONTACTS = "/api/v1/contacts"


@pytest.fixture
def writer(workspace):
    return factories.make_key(workspace, scopes=["contacts:write", "tickets:write"])


def post(api_client, plain, body, key="order-1234", path=CONTACTS):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {plain}"}
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return api_client.post(path, body, format="json", **headers)


def test_a_retry_replays_the_first_answer_and_creates_nothing(api_client, writer):
    first = post(api_client, writer[1], {"email": "ada@example.com"})
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    again = post(api_client, writer[1], {"email": "ada@example.com"})
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Contact.objects.count() == 1
    assert Event.objects.filter(type="contact.created").count() == 1


def test_refusals_of_the_endpoint_are_stored_too(api_client, writer):
    first = post(api_client, writer[1], {"email": "not-an-email"})
    assert first.status_code == 400
    again = post(api_client, writer[1], {"email": "not-an-email"})
    assert again.status_code == 400
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["error"]["fields"] == first.json()["error"]["fields"]


def test_the_same_key_for_another_request_is_409_reused(api_client, writer):
    post(api_client, writer[1], {"email": "ada@example.com"})
    for body, path in [({"email": "bob@example.com"}, CONTACTS), ({"subject": "Hi"}, "/api/v1/tickets")]:
        response = post(api_client, writer[1], body, path=path)
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert Contact.objects.count() == 1


def test_keys_are_per_api_key(api_client, workspace, writer):
    _other, other_plain = factories.make_key(workspace, scopes=["contacts:write"])
    assert post(api_client, writer[1], {"email": "ada@example.com"}).status_code == 201
    response = post(api_client, other_plain, {"email": "bob@example.com"})
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response


@pytest.mark.parametrize("value", ["", "x" * 256, "naïve", "tab\there", "line\x7f"])
def test_a_malformed_key_is_400_and_runs_nothing(api_client, writer, value):
    response = post(api_client, writer[1], {"email": "ada@example.com"}, key=value)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["fields"]
    assert not Contact.objects.exists()


def test_key_checks_come_first_and_are_never_stored(api_client, workspace):
    _reader, plain = factories.make_key(workspace, scopes=["contacts:read"])
    assert post(api_client, plain, {"email": "ada@example.com"}).status_code == 403
    assert not IdempotencyRecord.objects.exists()


def test_the_stored_answer_is_encrypted(api_client, workspace):
    _key, plain = factories.make_key(workspace, scopes=["events:read"])
    created = post(
        api_client, plain, {"target_url": "http://127.0.0.1:9/hook", "event": "contact.created"}, path="/api/v1/hooks"
    )
    assert created.status_code == 201, created.content
    record = IdempotencyRecord.objects.get()
    assert created.json()["secret"] not in record.response_encrypted
    replay = post(
        api_client, plain, {"target_url": "http://127.0.0.1:9/hook", "event": "contact.created"}, path="/api/v1/hooks"
    )
    assert replay.json()["secret"] == created.json()["secret"]


def test_a_claim_left_by_a_dead_request_is_taken_over(api_client, writer):
    IdempotencyRecord.objects.create(
        api_key=writer[0], key="order-1234", fingerprint="0" * 64, created_at=timezone.now() - timedelta(minutes=2)
    )
    assert post(api_client, writer[1], {"email": "ada@example.com"}).status_code == 201
    assert Contact.objects.count() == 1


def test_a_running_claim_answers_409_in_use(api_client, writer):
    first = post(api_client, writer[1], {"email": "ada@example.com"}, key="k1")
    record = IdempotencyRecord.objects.get(key="k1")
    IdempotencyRecord.objects.filter(pk=record.pk).update(status_code=None, response_encrypted="")
    response = post(api_client, writer[1], {"email": "ada@example.com"}, key="k1")
    assert first.status_code == 201
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_in_use"


def test_records_expire_after_24_hours_and_are_pruned(api_client, writer):
    post(api_client, writer[1], {"email": "ada@example.com"})
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    fresh = post(api_client, writer[1], {"email": "bob@example.com"})  # the key is free again
    assert fresh.status_code == 201
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    out = StringIO()
    call_command("prune_idempotency_keys", stdout=out)
    assert out.getvalue().strip() == "Deleted 1 idempotency records older than 24 hours."
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.live
@pytest.mark.skipif(
    not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")), reason="needs PostgreSQL + Redis"
)
@pytest.mark.django_db(transaction=True)
def test_a_concurrent_retry_is_409_in_use_and_the_work_happens_once():
    """The first request is held inside its work (its INSERT waits on a row lock the test holds)."""
    assert connection.vendor == "postgresql"
    workspace = factories.make_workspace()
    _key, plain = factories.make_key(workspace, scopes=["contacts:write"])
    proc, url = start_server(workers=2)  # the retry reaches the worker that is not held
    holder = psycopg.connect(database_url().replace("postgres://", "postgresql://"))
    try:
        holder.execute(  # an uncommitted contact with the same email: the server's INSERT blocks on it
            "INSERT INTO crm_contact (public_id, workspace_id, email, phone, name, source, opted_out, created_at,"
            " updated_at) VALUES ('ct_lock', %s, 'ada@example.com', '', '', 'api', false, now(), now())",
            [workspace.pk],
        )
        headers = {"Authorization": f"Bearer {plain}", "Idempotency-Key": "race-1"}
        results: list[requests.Response] = []
        first = threading.Thread(
            target=lambda: results.append(
                requests.post(f"{url}{CONTACTS}", json={"email": "ada@example.com"}, headers=headers, timeout=30)
            )
        )
        first.start()
        for _ in range(50):  # until the first request holds its claim
            if IdempotencyRecord.objects.filter(key="race-1").exists():
                break
            threading.Event().wait(0.1)
        retry = requests.post(f"{url}{CONTACTS}", json={"email": "ada@example.com"}, headers=headers, timeout=30)
        assert retry.status_code == 409
        assert retry.json()["error"]["code"] == "idempotency_key_in_use"
        holder.rollback()  # the lock goes: the first request finishes
        first.join(30)
        assert results[0].status_code == 201
        replay = requests.post(f"{url}{CONTACTS}", json={"email": "ada@example.com"}, headers=headers, timeout=30)
        assert replay.status_code == 201
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert Contact.objects.filter(email="ada@example.com").count() == 1
    finally:
        holder.close()
        stop_server(proc)

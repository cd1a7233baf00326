"""The per-key request log (issue #19): what a request leaves behind, once the buffer is flushed.

Runs on SQLite (the hand-off stores straight into the database) and on PostgreSQL +
Redis (it goes through the Redis stream and the drain); ``usage.flush()`` is the public
hand-off-and-drain the buffer's thread runs.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.actors import Actor
from accounts.models import AuditEvent, Role
from apikeys import middleware, usage
from apikeys.models import ApiKey, ApiKeyDailyUsage, ApiRequestLog, KeyNetwork
from apikeys.reminders import key_network_alerts_send
from apikeys.services import api_key_revoke
from apikeys.tasks import key_care, request_log_care, request_log_care_ensure_scheduled
from tests import factories

pytestmark = pytest.mark.django_db
CONTACTS = "/api/v1/contacts"


def get(client, plain, path=CONTACTS, ip="203.0.113.9", **headers):
    return client.get(path, HTTP_AUTHORIZATION=f"Bearer {plain}", REMOTE_ADDR=ip, **headers)


def stored_text() -> str:
    """Every column of every stored row, as one string to grep."""
    rows = ApiRequestLog.objects.values_list()
    return "\n".join(" ".join(str(value) for value in row) for row in rows)


def test_a_request_is_recorded_with_what_was_asked_and_never_a_key_or_a_query_value(api_client, secret_key):
    key, plain = secret_key
    query = "cursor=c2VjcmV0LWN1cnNvcg&limit=7&email=ann%40example.com"
    response = get(api_client, plain, f"{CONTACTS}?{query}", HTTP_USER_AGENT="x" * 500)
    assert response.status_code == 400  # not a cursor Parley made
    assert ApiRequestLog.objects.count() == 0  # buffered, not written on the request path
    assert usage.flush() == 1
    row = ApiRequestLog.objects.get()
    assert row.api_key == key
    assert (row.method, row.path, row.status, row.error_code) == (
        "GET",
        f"{CONTACTS}?cursor=&limit=&email=",
        400,
        "invalid_request",
    )
    assert row.ip == "203.0.113.9"
    assert row.user_agent == "x" * ApiRequestLog.MAX_USER_AGENT_LENGTH
    assert row.request_id == response["X-Request-Id"]
    assert row.duration_ms > 0
    assert abs(row.created_at - timezone.now()) < timedelta(seconds=5)
    text = stored_text()
    for secret in [plain, plain[9:], "c2VjcmV0LWN1cnNvcg", "ann", "example.com", "=7"]:
        assert secret not in text


def test_keys_anywhere_in_the_request_stay_out_of_the_log(api_client, secret_key):
    _, plain = secret_key
    other = factories.make_key(secret_key[0].workspace)[1]
    get(api_client, plain, f"{CONTACTS}/{other}?{other}=1&key={other}", HTTP_USER_AGENT=f"bot {other}")
    api_client.get(CONTACTS, HTTP_X_API_KEY=plain, REMOTE_ADDR="203.0.113.9")
    usage.flush()
    assert ApiRequestLog.objects.count() == 2
    text = stored_text()
    assert plain not in text
    assert other not in text
    assert other[9:20] not in text
    assert "wsk_[REDACTED]" in text


def test_a_path_or_user_agent_sent_again_is_logged_as_the_first_time_and_a_secret_is_never_kept_to_skip_it(
    api_client, secret_key
):
    _, plain = secret_key
    other = factories.make_key(secret_key[0].workspace)[1]
    for _ in range(2):  # the second time, the clean path and agent are known: not scanned again
        get(api_client, plain, f"{CONTACTS}/{other}", HTTP_USER_AGENT="bot/1.0")
        get(api_client, plain, CONTACTS, HTTP_USER_AGENT=f"bot {other}")
    usage.flush()
    logged = sorted(ApiRequestLog.objects.values_list("path", "user_agent"))
    assert logged == sorted(2 * [(f"{CONTACTS}/wsk_[REDACTED]", "bot/1.0"), (CONTACTS, "bot wsk_[REDACTED]")])
    assert {CONTACTS, "bot/1.0"} <= middleware._clean  # what was found clean is kept...
    assert not any(other in text for text in middleware._clean)  # ...and what held a key never is


def test_refusals_are_recorded_with_their_error_code(api_client, workspace, owner):
    revoked, revoked_plain = factories.make_key(workspace, scopes=["contacts:read"])
    expired, expired_plain = factories.make_key(workspace, scopes=["contacts:read"])
    ApiKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    narrow, narrow_plain = factories.make_key(workspace, scopes=["tickets:read"])
    api_key_revoke(key=revoked, actor=Actor.for_user(owner))
    assert get(api_client, revoked_plain).status_code == 401
    assert get(api_client, expired_plain).status_code == 401
    assert get(api_client, narrow_plain).status_code == 403
    assert get(api_client, narrow_plain, f"{CONTACTS}/con_nothere").status_code in (403, 404)
    unknown = factories.make_key(workspace)[1][:-6] + "zzzzzz"  # a wrong checksum: nobody's key
    get(api_client, unknown)
    usage.flush()
    logged = {(row.api_key_id, row.status, row.error_code) for row in ApiRequestLog.objects.all()}
    assert (revoked.pk, 401, "api_key_revoked") in logged
    assert (expired.pk, 401, "api_key_expired") in logged
    assert (narrow.pk, 403, "missing_scope") in logged
    assert ApiRequestLog.objects.count() == 4  # the unknown key has nothing to be attributed to
    # A dead key's refusals are logged, but are no use of the key:
    revoked.refresh_from_db()
    assert revoked.last_used_at is None
    assert not KeyNetwork.objects.filter(api_key__in=[revoked, expired]).exists()


def test_the_answer_of_the_whole_chain_is_recorded(api_client, workspace):
    _, plain = factories.make_key(workspace, scopes=["contacts:read"], rate_limit="2/h")
    statuses = [get(api_client, plain).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert get(api_client, plain, f"{CONTACTS}/con_missing").status_code == 429
    usage.flush()
    assert sorted(ApiRequestLog.objects.values_list("status", "error_code")) == [
        (200, ""),
        (200, ""),
        (429, "rate_limited"),
        (429, "rate_limited"),
    ]


def test_no_database_write_on_the_request_path(api_client, secret_key):
    _, plain = secret_key
    get(api_client, plain)  # the key is cached (with Redis) and last used is due
    usage.flush()
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert get(api_client, plain, ip="198.51.100.1").status_code == 200
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE"))]
    assert writes == []


def test_the_log_can_be_turned_off(api_client, secret_key, settings):
    settings.API_REQUEST_LOG = False
    get(api_client, secret_key[1])
    usage.flush()
    assert ApiRequestLog.objects.count() == 0


def test_a_batch_stored_twice_is_stored_once_and_counted_once(api_client, secret_key):
    key, plain = secret_key
    for status_path in [CONTACTS, CONTACTS, f"{CONTACTS}/con_missing"]:
        get(api_client, plain, status_path)
    entries = usage.buffer.take()
    assert len(entries) == 3
    assert usage.store(entries) == 3
    assert usage.store(entries) == 0  # e.g. read again after a consumer died before acknowledging
    assert usage.store(entries[1:]) == 0
    assert ApiRequestLog.objects.count() == 3
    day = ApiKeyDailyUsage.objects.get(api_key=key)
    assert (day.day, day.successes, day.errors) == (timezone.now().date(), 2, 1)
    assert KeyNetwork.objects.get(api_key=key).requests == 3


def test_daily_usage_counts_what_the_log_holds(api_client, secret_key):
    key, plain = secret_key
    start = timezone.now().replace(hour=23, minute=59, second=58)
    with time_machine.travel(start, tick=False) as clock:
        get(api_client, plain)
        get(api_client, plain, f"{CONTACTS}/con_missing")
        clock.shift(timedelta(seconds=5))  # the next UTC day
        get(api_client, plain)
        usage.flush()
    days = {row.day: (row.successes, row.errors) for row in ApiKeyDailyUsage.objects.filter(api_key=key)}
    assert days == {start.date(): (1, 1), (start + timedelta(days=1)).date(): (1, 0)}
    assert ApiRequestLog.objects.filter(status__gte=400).count() == 1


def test_each_batch_adds_to_the_days_counts_and_the_networks_requests(api_client, secret_key):
    key, plain = secret_key
    for batch in [[CONTACTS, f"{CONTACTS}/con_missing"], [CONTACTS, CONTACTS, f"{CONTACTS}/con_missing"]]:
        for path in batch:
            get(api_client, plain, path)
        assert usage.store(usage.buffer.take()) == len(batch)
    day = ApiKeyDailyUsage.objects.get(api_key=key)
    assert (day.day, day.successes, day.errors) == (timezone.now().date(), 3, 2)
    assert KeyNetwork.objects.get(api_key=key).requests == 5
    assert ApiRequestLog.objects.count() == 5


def test_retention_prunes_old_rows_daily_counts_and_networks(api_client, secret_key, settings):
    settings.API_LOG_RETENTION_DAYS = 30
    _, plain = secret_key
    start = timezone.now()
    with time_machine.travel(start - timedelta(days=31), tick=False):
        get(api_client, plain, ip="198.51.100.4")
        usage.flush()
    with time_machine.travel(start - timedelta(days=29), tick=False):
        get(api_client, plain, ip="203.0.113.4")
        usage.flush()
    get(api_client, plain, ip="203.0.113.5")
    usage.flush()
    assert ApiRequestLog.objects.count() == 3
    call_command("prune_api_logs", stdout=open("/dev/null", "w"))  # noqa: SIM115  (closed with the process)
    assert ApiRequestLog.objects.count() == 2
    assert sorted(ApiKeyDailyUsage.objects.values_list("day", flat=True)) == [
        (start - timedelta(days=29)).date(),
        start.date(),
    ]
    assert list(KeyNetwork.objects.values_list("network", flat=True)) == ["203.0.113.0/24"]
    with time_machine.travel(start + timedelta(days=31), tick=False):
        # 203.0.113.0/24 was new (the key knew 198.51.100.0/24 then): kept until it is mailed
        assert usage.request_log_prune() == {"log_rows": 2, "daily_rows": 2, "networks": 0}
        key_network_alerts_send()
        assert usage.request_log_prune() == {"log_rows": 0, "daily_rows": 0, "networks": 1}


# --- networks and their alerts


@pytest.fixture
def mailed_key(workspace, owner):
    factories.add_member(workspace, Role.ADMIN)
    factories.add_member(workspace, Role.MEMBER)
    return factories.make_key(workspace, scopes=["contacts:read"], name="Backend")


def new_network_events(key):
    return list(AuditEvent.objects.filter(action="api_key.new_network", target_id=str(key.pk)))


def test_a_new_network_alerts_once_and_a_known_one_never(api_client, mailed_key):
    key, plain = mailed_key
    get(api_client, plain, ip="203.0.113.10")
    usage.flush()
    assert new_network_events(key) == []  # the key's first network: where it runs, nothing to compare with
    assert key_network_alerts_send() == 0

    get(api_client, plain, ip="198.51.100.20")
    get(api_client, plain, ip="198.51.100.21")  # the same /24
    get(api_client, plain, ip="203.0.113.99")  # known
    usage.flush()
    events = new_network_events(key)
    assert len(events) == 1
    assert events[0].details == {"network": "198.51.100.0/24", "ip": "198.51.100.20"}
    assert events[0].ip == "198.51.100.20"
    network = KeyNetwork.objects.get(api_key=key, network="198.51.100.0/24")
    assert (network.requests, network.alert_pending) == (2, True)

    assert key_network_alerts_send() == 1
    assert len(mail.outbox) == 2  # the owner and the admin, not the member
    message = mail.outbox[0]
    assert "198.51.100.0/24" in message.subject
    assert key.hint in message.subject
    assert "198.51.100.0/24" in message.body
    assert "203.0.113.0/24" not in message.body
    assert key_network_alerts_send() == 0  # sent once

    for _ in range(3):
        get(api_client, plain, ip="198.51.100.30")
    usage.flush()
    assert key_network_alerts_send() == 0
    assert len(new_network_events(key)) == 1
    assert len(mail.outbox) == 2


def test_a_second_new_network_within_the_hour_waits_for_the_hour(api_client, mailed_key):
    key, plain = mailed_key
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        get(api_client, plain, ip="203.0.113.10")
        get(api_client, plain, ip="198.51.100.20")
        usage.flush()
        assert key_network_alerts_send() == 1
        clock.shift(timedelta(minutes=10))
        get(api_client, plain, ip="2001:db8:7:1::5")
        get(api_client, plain, ip="192.0.2.44")
        usage.flush()
        assert len(new_network_events(key)) == 3
        assert key_network_alerts_send() == 0  # mailed ten minutes ago
        clock.shift(timedelta(minutes=45))
        assert key_network_alerts_send() == 0
        clock.shift(timedelta(minutes=6))
        assert key_network_alerts_send() == 1
    assert len(mail.outbox) == 4  # to the owner and the admin: the first mail, then the batched second
    body = mail.outbox[-1].body
    assert "2001:db8:7::/48" in body
    assert "192.0.2.0/24" in body
    assert "198.51.100.0/24" not in body


def test_a_network_unused_for_30_days_is_new_again(api_client, mailed_key):
    key, plain = mailed_key
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        get(api_client, plain, ip="203.0.113.10")
        get(api_client, plain, ip="198.51.100.20")
        usage.flush()
        clock.shift(timedelta(days=29))
        get(api_client, plain, ip="203.0.113.11")
        usage.flush()
        clock.shift(timedelta(days=2))
        get(api_client, plain, ip="198.51.100.21")  # last seen 31 days ago
        get(api_client, plain, ip="203.0.113.12")  # last seen 2 days ago
        usage.flush()
    assert [e.details["network"] for e in new_network_events(key)] == ["198.51.100.0/24", "198.51.100.0/24"]


# --- the admin


@pytest.fixture
def support_client(client):
    user = factories.make_user("support@example.com", is_staff=True)
    user.groups.add(Group.objects.get(name="Support"))
    client.force_login(user)
    return client


def test_support_staff_read_the_log_in_the_admin(support_client, api_client, workspace):
    first, first_plain = factories.make_key(workspace, scopes=["contacts:read"])
    second, second_plain = factories.make_key(workspace, scopes=["contacts:read"])
    get(api_client, first_plain, ip="198.51.100.77")
    get(api_client, second_plain, f"{CONTACTS}/con_missing", ip="203.0.113.78")
    usage.flush()
    page = "/admin/apikeys/apirequestlog/"
    listing = support_client.get(page)
    assert listing.status_code == 200
    text = listing.content.decode()
    assert first.hint in text
    assert second.hint in text
    assert first_plain not in text
    assert second_plain not in text
    by_hint = support_client.get(page, {"q": first.hint}).content.decode()
    assert "198.51.100.77" in by_hint
    assert "203.0.113.78" not in by_hint
    by_ip = support_client.get(page, {"q": "203.0.113.78"}).content.decode()
    assert second.hint in by_ip
    assert first.hint not in by_ip
    errors = support_client.get(page, {"status_class": "4"}).content.decode()
    assert "203.0.113.78" in errors
    assert "198.51.100.77" not in errors
    row = ApiRequestLog.objects.get(api_key=first)
    detail = support_client.get(f"{page}{row.pk}/change/")
    assert detail.status_code == 200
    assert "Save" not in detail.content.decode()  # read only
    assert support_client.get(f"{page}add/").status_code == 403
    assert support_client.post(f"{page}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    for other in ["apikeydailyusage", "keynetwork"]:
        assert support_client.get(f"/admin/apikeys/{other}/").status_code == 200


# --- the worker's tasks


def test_the_worker_drains_what_no_web_process_did_and_mails_the_alerts(api_client, mailed_key):
    _, plain = mailed_key
    get(api_client, plain, ip="203.0.113.10")
    get(api_client, plain, ip="198.51.100.20")
    usage.flush(drain_after=False)  # handed off (to the stream with Redis), then that process died
    done = request_log_care.call()
    assert ApiRequestLog.objects.count() == 2
    assert done == {"drained": 2 if usage.stream_enabled() else 0, "network_alerts": 1}
    assert len(mail.outbox) == 2
    assert DBTaskResult.objects.filter(task_path=request_log_care.module_path, status="READY").count() == 1


def test_the_hourly_key_care_prunes_the_log(api_client, secret_key):
    with time_machine.travel(timezone.now() - timedelta(days=40), tick=False):
        get(api_client, secret_key[1])
        usage.flush()
    assert key_care.call()["log_rows"] == 1
    assert ApiRequestLog.objects.count() == 0


def test_the_request_log_task_keeps_itself_scheduled(workspace):
    DBTaskResult.objects.filter(task_path=request_log_care.module_path).delete()
    assert request_log_care_ensure_scheduled() is True
    assert request_log_care_ensure_scheduled() is False

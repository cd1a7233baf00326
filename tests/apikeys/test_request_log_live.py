"""The request log's buffer loses nothing: count in = count out, on PostgreSQL + Redis.

While flushes run between requests arriving on several threads; when a consumer read
entries and died before acknowledging them; across a Redis outage (the hand-off
stores straight into the database); and with real gunicorn servers whose worker is
SIGKILLed (only what it buffered in its last half second may be lost) or SIGTERMed
(it hands off its buffer as it exits). Skipped on the embedded SQLite default.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.core.cache import caches
from django.db import connection
from rest_framework.test import APIClient

from apikeys import usage
from apikeys.models import ApiKeyDailyUsage, ApiRequestLog
from apikeys.tasks import request_log_care_ensure_scheduled
from tests import factories
from tests.faults import FaultProxy
from tests.live import start_server, start_task_worker, stop_server

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")),
        reason="needs PostgreSQL + Redis shared by several processes (DATABASE_URL and REDIS_URL)",
    ),
]
CONTACTS = "/api/v1/contacts"
# No JSON line per request on the servers' stderr, a pipe nobody reads while they run: under
# hundreds of requests it would fill and block them.
QUIET = {"LOG_LEVEL": "WARNING"}


def make_key():
    workspace = factories.make_workspace()
    return factories.make_key(workspace, scopes=["contacts:read"], rate_limit="100000/h")


def logged_request_ids() -> list[str]:
    return list(ApiRequestLog.objects.values_list("request_id", flat=True))


def counted(key) -> int:
    return sum(day.successes + day.errors for day in ApiKeyDailyUsage.objects.filter(api_key=key))


def test_nothing_is_lost_while_the_buffer_flushes_between_requests(transactional_db, settings):
    key, plain = make_key()
    settings.API_REQUEST_LOG_BACKGROUND = True  # the real hand-off and drain threads, as on a server
    settings.API_REQUEST_LOG_BATCH = 7  # hand-offs in the middle of the traffic
    answered: list[str] = []
    lock = threading.Lock()

    def client_thread() -> None:
        client = APIClient()
        try:
            for _ in range(60):
                response = client.get(CONTACTS, HTTP_AUTHORIZATION=f"Bearer {plain}", REMOTE_ADDR="203.0.113.5")
                assert response.status_code == 200
                with lock:
                    answered.append(response["X-Request-Id"])
        finally:
            connection.close()

    threads = [threading.Thread(target=client_thread) for _ in range(4)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        usage.flush()  # a flush of this thread too, racing the buffer's own
    for thread in threads:
        thread.join()
    usage.buffer.stop()
    usage.flush()
    assert len(answered) == 240
    assert sorted(logged_request_ids()) == sorted(answered)
    assert counted(key) == 240


def redis_client():
    return caches["default"].raw_client()


def test_a_consumer_that_read_entries_and_died_has_them_taken_over(transactional_db, settings):
    key, plain = make_key()
    client = APIClient()

    def calls(n: int) -> list[str]:
        return [
            client.get(CONTACTS, HTTP_AUTHORIZATION=f"Bearer {plain}", REMOTE_ADDR="203.0.113.5")["X-Request-Id"]
            for _ in range(n)
        ]

    answered = calls(10)
    usage.flush(drain_after=False)  # one stream message of 10 entries, nobody has read it
    answered += calls(20)
    usage.flush(drain_after=False)  # a second one, of 20
    redis = redis_client()
    stream = usage.stream_name()
    redis.xgroup_create(stream, usage.GROUP, id="0", mkstream=True)
    # A consumer reads the first message, stores 4 of its 10 entries, and dies before acknowledging it.
    [(_, fields)] = redis.xreadgroup(usage.GROUP, "dead-worker", {stream: ">"}, count=1)[0][1]
    usage.store(usage.decode_message(fields)[:4])

    assert usage.drain(consumer="live-worker") == 20  # the others; the dead one's are not idle long enough yet
    assert ApiRequestLog.objects.count() == 24
    settings.API_REQUEST_LOG_RECLAIM_SECONDS = 0.2
    time.sleep(0.3)
    assert usage.drain(consumer="live-worker") == 10  # taken over with XAUTOCLAIM
    assert sorted(logged_request_ids()) == sorted(answered)
    assert counted(key) == 30  # the 4 stored twice are counted once
    assert redis.xpending(stream, usage.GROUP)["pending"] == 0
    assert redis.xlen(stream) == 0


@pytest.fixture
def redis_relay(settings):
    """The test process reaches Redis through a FaultProxy that the test can cut."""
    redis = urlsplit(os.environ["REDIS_URL"])
    relay = FaultProxy(upstream=(redis.hostname or "127.0.0.1", redis.port or 6379)).start()
    location = f"redis://127.0.0.1:{relay.port}{redis.path or '/0'}"
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": location}}
    yield relay
    relay.stop()


def test_entries_recorded_while_redis_is_cut_off_are_stored_by_the_fallback(transactional_db, redis_relay):
    key, plain = make_key()
    client = APIClient()

    def calls(n: int, ip: str = "203.0.113.5") -> list[str]:
        return [
            client.get(CONTACTS, HTTP_AUTHORIZATION=f"Bearer {plain}", REMOTE_ADDR=ip)["X-Request-Id"] for _ in range(n)
        ]

    answered = calls(10)
    usage.flush(drain_after=False)  # handed off to the stream, not drained yet
    redis_relay.refuse()
    answered += calls(10)
    usage.flush()  # Redis refuses: stored straight into the database
    assert ApiRequestLog.objects.count() == 10
    redis_relay.blackhole()
    time.sleep(1.1)  # the cache's retry window: Redis is tried again, and times out (200 ms)
    answered += calls(10)
    started = time.monotonic()
    usage.flush()
    assert time.monotonic() - started < 2
    assert ApiRequestLog.objects.count() == 20
    redis_relay.restore()
    time.sleep(1.1)
    answered += calls(10)
    usage.flush()  # the stream again: the 10 handed off before the cut, and these
    assert sorted(logged_request_ids()) == sorted(answered)
    assert counted(key) == 40


# --- real servers


def worker_pids(master: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            pids.append(int(stat.parent.name))
    return pids


def drain_all(settings) -> None:
    """What any surviving process (or the worker's request_log_care) does, idle entries included."""
    settings.API_REQUEST_LOG_RECLAIM_SECONDS = 0.2
    time.sleep(0.3)
    usage.drain(consumer="after")


def wait_for_rows(n: int, seconds: float) -> float:
    """Seconds until the log holds ``n`` rows (fails after ``seconds``)."""
    started = time.monotonic()
    while ApiRequestLog.objects.count() < n:
        assert time.monotonic() - started < seconds, f"{ApiRequestLog.objects.count()} of {n} rows"
        time.sleep(0.1)
    return time.monotonic() - started


def call_server(url: str, plain: str, n: int) -> list[str]:
    session = requests.Session()
    headers = {"Authorization": f"Bearer {plain}"}
    return [session.get(f"{url}{CONTACTS}", headers=headers, timeout=5).headers["X-Request-Id"] for _ in range(n)]


def test_the_task_worker_stores_what_the_web_servers_hand_off(transactional_db):
    key, plain = make_key()
    request_log_care_ensure_scheduled()  # as migrate does: the worker's first run starts its drain thread
    # The web server never drains here (its fallback would wait an hour): only the worker can store.
    proc, url = start_server(workers=2, env={**QUIET, "API_REQUEST_LOG_FALLBACK_DRAIN_SECONDS": "3600"})
    worker = start_task_worker(env=QUIET)
    try:
        answered = call_server(url, plain, 40)
        wait_for_rows(40, seconds=15)
        time.sleep(1.5)
        answered += call_server(url, plain, 10)
        # The worker's thread drains about once a second: within the hand-off's 0.5 s and its own.
        assert wait_for_rows(50, seconds=5) < 3
    finally:
        stop_server(worker)
        stop_server(proc)
    assert sorted(logged_request_ids()) == sorted(answered)
    assert counted(key) == 50
    assert redis_client().xlen(usage.stream_name()) == 0


def test_without_a_task_worker_a_web_server_drains_what_waited(transactional_db):
    key, plain = make_key()
    proc, url = start_server(workers=1, env={**QUIET, "API_REQUEST_LOG_FALLBACK_DRAIN_SECONDS": "2"})
    try:
        started = time.monotonic()
        answered = call_server(url, plain, 20)
        time.sleep(1.0)
        if time.monotonic() - started < 1.9:  # none of it has waited 2 s yet: in the stream, not stored
            assert ApiRequestLog.objects.count() == 0
        wait_for_rows(20, seconds=10)
    finally:
        stop_server(proc)
    assert sorted(logged_request_ids()) == sorted(answered)
    assert counted(key) == 20


def wait_for_drainer(seconds: float = 15) -> None:
    """Until a task worker's drain thread has marked itself alive in Redis."""
    deadline = time.monotonic() + seconds
    while not redis_client().exists(usage.drainer_key()):
        assert time.monotonic() < deadline, "the task worker's drain thread never marked itself alive"
        time.sleep(0.1)


def thread_nice_values(pid: int) -> dict[int, int]:
    """Each thread of ``pid`` and its niceness, from /proc."""
    values = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/stat") as stat:
            values[int(tid)] = int(stat.read().rsplit(")", 1)[1].split()[16])
    return values


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads threads' niceness from Linux's /proc")
def test_the_task_worker_stores_at_the_lowest_cpu_priority_and_nothing_else_does(transactional_db):
    request_log_care_ensure_scheduled()
    worker = start_task_worker(env=QUIET)
    try:
        wait_for_drainer()
        nice = thread_nice_values(worker.pid)
    finally:
        stop_server(worker)
    assert nice[worker.pid] == 0  # the worker's tasks (webhook deliveries…) keep their priority
    assert sorted(nice.values()).count(19) == 1  # the drain thread, and only it


def test_a_web_server_leaves_the_stream_to_a_live_drain_thread_and_takes_over_once_it_is_stuck(transactional_db):
    key, plain = make_key()
    request_log_care_ensure_scheduled()
    worker = start_task_worker(env={**QUIET, "API_REQUEST_LOG_DRAINER_ALIVE_SECONDS": "3"})
    proc, url = start_server(workers=1, env={**QUIET, "API_REQUEST_LOG_FALLBACK_DRAIN_SECONDS": "1"})
    try:
        wait_for_drainer()
        os.kill(worker.pid, signal.SIGSTOP)  # stuck: it neither drains nor says it is alive
        answered = call_server(url, plain, 20)
        deadline = time.monotonic() + 15
        while ApiRequestLog.objects.count() < 20:
            assert time.monotonic() < deadline, f"{ApiRequestLog.objects.count()} of 20 rows"
            if redis_client().pttl(usage.drainer_key()) > 300:  # the worker still counts as alive...
                assert ApiRequestLog.objects.count() == 0  # ...so the web server, however old the entries, waits
            time.sleep(0.1)
        assert not redis_client().exists(usage.drainer_key())  # it took over only once the mark lapsed
    finally:
        os.kill(worker.pid, signal.SIGCONT)
        stop_server(proc)
        stop_server(worker)
    assert sorted(logged_request_ids()) == sorted(answered)
    assert counted(key) == 20


def test_a_sigkilled_worker_loses_at_most_its_last_half_second(transactional_db, settings):
    key, plain = make_key()
    proc, url = start_server(workers=1, env=QUIET)
    try:
        answered: list[tuple[float, str]] = []
        stop = threading.Event()

        def load() -> None:
            session = requests.Session()
            while not stop.is_set():
                try:
                    response = session.get(f"{url}{CONTACTS}", headers={"Authorization": f"Bearer {plain}"}, timeout=5)
                except requests.RequestException:
                    time.sleep(0.05)
                    continue
                answered.append((time.monotonic(), response.headers["X-Request-Id"]))

        loader = threading.Thread(target=load)
        loader.start()
        time.sleep(2)
        [worker] = worker_pids(proc.pid)
        os.kill(worker, signal.SIGKILL)
        killed_at = time.monotonic()
        time.sleep(3)  # gunicorn starts another worker, which serves the rest
        stop.set()
        loader.join()
    finally:
        stop_server(proc)
    drain_all(settings)
    stored = set(logged_request_ids())
    ids = {request_id for _, request_id in answered}
    # Stored and never answered: the request the worker was writing its answer for when it died.
    assert len(stored - ids) <= 1, ApiRequestLog.objects.filter(request_id__in=stored - ids).values()
    lost = [at for at, request_id in answered if request_id not in stored]
    # Only what the killed worker had buffered: answered within its last hand-off interval (the
    # client notes an answer a moment after the worker wrote it: 0.1 s of slack after the kill).
    assert all(killed_at - 1.0 <= at <= killed_at + 0.1 for at in lost), [round(at - killed_at, 3) for at in lost]
    assert len(stored) == counted(key)
    assert any(at > killed_at for at, _ in answered)  # the new worker's requests are stored too


def test_a_sigtermed_server_hands_off_its_buffer_as_it_exits(transactional_db, settings):
    key, plain = make_key()
    # The hand-off thread never runs: only the exit hand-off can move these entries.
    proc, url = start_server(
        workers=1, env={**QUIET, "API_REQUEST_LOG_FLUSH_SECONDS": "3600", "API_REQUEST_LOG_BATCH": "1000"}
    )
    try:
        session = requests.Session()
        answered = [
            session.get(f"{url}{CONTACTS}", headers={"Authorization": f"Bearer {plain}"}, timeout=5).headers[
                "X-Request-Id"
            ]
            for _ in range(25)
        ]
        time.sleep(1.5)
        assert ApiRequestLog.objects.count() == 0  # still in the worker's buffer
    finally:
        stop_server(proc)  # SIGTERM: the worker finishes and exits
    assert proc.returncode == 0
    drain_all(settings)
    assert sorted(logged_request_ids()) == sorted(answered)
    assert counted(key) == 25

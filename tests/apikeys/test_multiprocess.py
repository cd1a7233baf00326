"""Revocation and rate limits across real server processes on PostgreSQL + Redis.

These need what production has: a shared PostgreSQL and Redis. They run in the
suite's PostgreSQL + Redis pass (``DATABASE_URL`` and ``REDIS_URL`` set, as
``.ci/run`` does) and are skipped on the embedded SQLite default, whose test
database lives in the test process's memory.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.core.cache import caches
from django.db import connection

from accounts.actors import Actor
from apikeys.cache import key_cache
from apikeys.services import api_key_revoke
from tests import factories
from tests.faults import FaultProxy
from tests.live import start_server, stop_server

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")),
        reason="needs PostgreSQL + Redis shared by several processes (DATABASE_URL and REDIS_URL)",
    ),
]


@pytest.fixture
def two_servers(transactional_db):
    # LOG_LEVEL: no JSON line per request on the servers' stderr, a pipe nobody reads while they
    # run; under the hammering below it filled and blocked them (every request then timed out).
    servers = [start_server(env={"API_KEY_CACHE_TTL": "300", "LOG_LEVEL": "WARNING"}) for _ in range(2)]
    yield [url for _, url in servers]
    for proc, _ in servers:
        stop_server(proc)


def me(url: str, key: str) -> requests.Response:
    return requests.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {key}"}, timeout=5)


def test_revocation_is_seen_by_every_process_on_the_next_request(two_servers):
    assert connection.vendor == "postgresql"
    workspace = factories.make_workspace()
    key, plain = factories.make_key(workspace)
    for url in two_servers:  # both processes now hold the key in the shared cache
        assert me(url, plain).status_code == 200
        assert me(url, plain).status_code == 200
    api_key_revoke(key=key, actor=Actor.for_user(factories.owner_of(workspace)))
    for url in two_servers:
        response = me(url, plain)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "api_key_revoked"


def test_no_request_started_after_revoke_returns_is_accepted(two_servers):
    """Concurrent load on two processes while the key is revoked: nothing slips through."""
    workspace = factories.make_workspace()
    key, plain = factories.make_key(workspace, rate_limit="100000/h")
    revoked_at: list[float] = []
    results: list[tuple[float, int]] = []
    stop = threading.Event()

    def hammer(url: str) -> None:
        session = requests.Session()
        while not stop.is_set():
            started = time.monotonic()
            status = session.get(
                f"{url}/api/v1/me", headers={"Authorization": f"Bearer {plain}"}, timeout=5
            ).status_code
            results.append((started, status))

    with ThreadPoolExecutor(max_workers=4) as pool:
        for url in two_servers * 2:
            pool.submit(hammer, url)
        time.sleep(0.7)
        api_key_revoke(key=key, actor=Actor.for_user(factories.owner_of(workspace)))
        revoked_at.append(time.monotonic())
        time.sleep(0.7)
        stop.set()

    before = [status for started, status in results if started < revoked_at[0]]
    after = [status for started, status in results if started > revoked_at[0]]
    assert before
    assert after
    assert 200 in before
    assert set(after) == {401}, f"{after.count(200)} requests accepted after revoke returned"


def test_rate_limit_is_shared_between_processes(two_servers):
    workspace = factories.make_workspace()
    _, plain = factories.make_key(workspace, rate_limit="10/h")
    statuses, remaining = [], []
    for i in range(12):
        response = me(two_servers[i % 2], plain)
        statuses.append(response.status_code)
        remaining.append(response.headers.get("X-RateLimit-Remaining"))
        # the IETF fields carry the same shared numbers (draft-ietf-httpapi-ratelimit-headers-11)
        assert response.headers["RateLimit-Policy"] == '"key";q=10;w=3600'
        assert response.headers["RateLimit"] == (
            f'"key";r={response.headers["X-RateLimit-Remaining"]};t={response.headers["X-RateLimit-Reset"]}'
        )
    assert statuses == [200] * 10 + [429, 429]
    assert remaining[:10] == [str(n) for n in range(9, -1, -1)]
    limited = me(two_servers[0], plain)
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.json()["error"]["code"] == "rate_limited"


def test_revocation_made_during_a_partition_reaches_every_process_when_redis_answers(two_servers, settings):
    """SPEC §10: the revoking process could not reach Redis; Redis kept the old entries."""
    from urllib.parse import urlsplit

    redis = urlsplit(os.environ["REDIS_URL"])
    relay = FaultProxy(upstream=(redis.hostname or "127.0.0.1", redis.port or 6379)).start()
    try:
        workspace = factories.make_workspace()
        key, plain = factories.make_key(workspace)
        for url in two_servers:
            assert me(url, plain).status_code == 200  # cached in Redis (TTL 300 s on those servers)

        # This test process becomes the revoking process, talking to Redis through the relay.
        location = f"redis://127.0.0.1:{relay.port}{redis.path or '/0'}"
        settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": location}}
        assert caches["default"].get("probe") is None  # connected through the relay
        relay.refuse()  # connections dropped, new ones refused

        api_key_revoke(
            key=key, actor=Actor.for_user(factories.owner_of(workspace))
        )  # succeeds: the database is the truth
        assert key_cache.has_pending()
        # The other processes still read Redis, which holds the old record; then Redis answers again:
        relay.restore()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and key_cache.has_pending():
            time.sleep(0.05)
        assert not key_cache.has_pending(), "the pending revocation never reached Redis"
        for url in two_servers:
            response = me(url, plain)
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "api_key_revoked"
    finally:
        relay.stop()


def test_a_revoker_that_dies_during_its_partition_leaves_nothing_stale(two_servers, settings):
    """The revoking process never reaches Redis and dies (its pending tombstone is gone with it): the
    other processes replay the database's invalidation outbox and refuse the key within a second or two."""
    from urllib.parse import urlsplit

    redis = urlsplit(os.environ["REDIS_URL"])
    relay = FaultProxy(upstream=(redis.hostname or "127.0.0.1", redis.port or 6379)).start()
    try:
        workspace = factories.make_workspace()
        key, plain = factories.make_key(workspace)
        for url in two_servers:
            assert me(url, plain).status_code == 200
            assert me(url, plain).status_code == 200  # served from Redis now
        location = f"redis://127.0.0.1:{relay.port}{redis.path or '/0'}"
        settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": location}}
        relay.refuse()
        api_key_revoke(key=key, actor=Actor.for_user(factories.owner_of(workspace)))
        key_cache.forget_pending()  # the revoking process dies: its tombstone never reaches Redis
        deadline = time.monotonic() + 3
        refused: set[str] = set()
        while time.monotonic() < deadline and len(refused) < len(two_servers):
            for url in two_servers:
                if me(url, plain).status_code == 401:
                    refused.add(url)
            time.sleep(0.1)
        assert refused == set(two_servers)
        for url in two_servers:
            assert me(url, plain).json()["error"]["code"] == "api_key_revoked"
    finally:
        relay.stop()

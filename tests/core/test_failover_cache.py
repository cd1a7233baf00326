"""The shared cache's fallback when Redis goes away between two calls of one rate-limit count.

django-ratelimit counts with ``add`` then ``incr``. A counter that ``add`` found in
Redis, and that ``incr`` then cannot reach, must keep counting in the process's
fallback, not vanish (django-ratelimit would answer 429 with ``Retry-After: -1`` to a
client nowhere near its limit — what the soak test saw). Redis passes only.
"""

from __future__ import annotations

import os
import time
import uuid
from urllib.parse import urlsplit

import pytest
from redis.backoff import NoBackoff
from redis.retry import Retry

from core.cache import FailoverRedisCache
from tests.faults import FaultProxy

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL)")


@pytest.fixture
def cache_behind_proxy():
    redis = urlsplit(os.environ["REDIS_URL"])
    proxy = FaultProxy(upstream=(redis.hostname or "127.0.0.1", redis.port or 6379)).start()
    cache = FailoverRedisCache(
        f"redis://127.0.0.1:{proxy.port}{redis.path or '/0'}",
        {
            "KEY_PREFIX": f"failover-test-{uuid.uuid4().hex[:8]}",
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 0.2,
                "SOCKET_TIMEOUT": 0.2,
                "CONNECTION_POOL_KWARGS": {"retry": Retry(NoBackoff(), 0)},
            },
        },
    )
    yield proxy, cache
    proxy.stop()


@pytest.mark.parametrize("fault", ["refuse", "blackhole"])
def test_a_counter_lost_with_redis_restarts_in_the_fallback(cache_behind_proxy, fault):
    proxy, cache = cache_behind_proxy
    assert cache.add("rl:window", 1, timeout=60)
    assert cache.add("rl:window", 1, timeout=60) is False  # found in Redis: django-ratelimit goes on to incr
    getattr(proxy, fault)()

    assert cache.incr("rl:window") == 1  # counting restarts in this process, never lost
    assert cache.incr("rl:window") == 2
    assert cache.is_up is False


def test_a_counter_that_expired_between_add_and_incr_restarts(cache_behind_proxy):
    _proxy, cache = cache_behind_proxy
    assert cache.incr("rl:gone") == 1
    assert cache.get("rl:gone") == 1
    assert cache.is_up is True


def test_a_counter_added_in_the_fallback_keeps_counting_when_redis_returns(cache_behind_proxy):
    proxy, cache = cache_behind_proxy
    proxy.refuse()
    assert cache.add("rl:window", 1, timeout=60)  # Redis down: counted in this process
    proxy.restore()
    deadline = time.monotonic() + 3
    while not cache.is_up and time.monotonic() < deadline:  # the fallback period ends
        time.sleep(0.05)

    assert cache.incr("rl:window") == 1  # Redis never saw it: it starts there, not a failure
    assert cache.incr("rl:window") == 2

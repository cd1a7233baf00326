"""A django-redis cache that keeps working, per process, while Redis is unreachable.

SPEC §10: with Redis gone, rate limits keep holding (counted per process, never
unlimited, never a 500) and a warning is logged at most once a minute per process.
After a failure the process stops trying Redis for ``RETRY_AFTER`` seconds, so a
blackholed Redis costs one 200 ms timeout a second, not one per cache call.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis.exceptions
from django.core.cache import BaseCache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.signals import setting_changed
from django.dispatch import receiver
from django_redis.cache import RedisCache  # type: ignore[import-untyped]  # django-redis ships no types
from django_redis.exceptions import ConnectionInterrupted  # type: ignore[import-untyped]  # likewise

logger = logging.getLogger("parley.cache")
# Per process, not per cache instance: each thread builds its own instance.
_last_warning = [-60.0]

REDIS_ERRORS = (
    ConnectionInterrupted,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    OSError,
)


class FailoverRedisCache(RedisCache):
    """django-redis, falling back to a local-memory cache while Redis is down."""

    RETRY_AFTER = 1.0
    # A counter restarted by ``incr`` (its window's length is unknown here) outlives the longest window in use.
    RESTARTED_COUNTER_TIMEOUT = 24 * 3600
    WARN_INTERVAL = 60.0

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._fallback = LocMemCache(f"failover-{id(self)}", {"OPTIONS": {"MAX_ENTRIES": 100_000}})
        self._down_until = 0.0

    @property
    def is_up(self) -> bool:
        """False while this process believes Redis is unreachable."""
        return time.monotonic() >= self._down_until

    def mark_down(self, exc: BaseException) -> None:
        now = time.monotonic()
        self._down_until = now + self.RETRY_AFTER
        if now - _last_warning[0] >= self.WARN_INTERVAL:
            _last_warning[0] = now
            logger.warning("Redis unreachable, using per-process fallback: %s", type(exc).__name__)

    def raw_client(self) -> Any:
        """The redis-py client, for scripts; callers catch ``REDIS_ERRORS``."""
        return self.client.get_client(write=True)

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self.is_up:
            try:
                return getattr(super(), name)(*args, **kwargs)
            except REDIS_ERRORS as exc:
                self.mark_down(exc)
        return getattr(self._fallback, name)(*args, **kwargs)

    def add(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("add", *args, **kwargs)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get", *args, **kwargs)

    def set(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("set", *args, **kwargs)

    def touch(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("touch", *args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("delete", *args, **kwargs)

    def get_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get_many", *args, **kwargs)

    def set_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("set_many", *args, **kwargs)

    def delete_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("delete_many", *args, **kwargs)

    def has_key(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("has_key", *args, **kwargs)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> Any:
        """Count up; a counter this process cannot find (it lives in the Redis just lost) starts again at ``delta``.

        django-ratelimit calls ``add`` then ``incr``. When Redis goes away between the
        two, ``add`` found the counter in Redis and ``incr`` lands on the fallback, which
        has never seen it: without this, the count is lost and django-ratelimit fails
        closed (a 429 with ``Retry-After: -1``) for a client nowhere near its limit.
        """
        try:
            return self._call("incr", key, delta, version=version)
        except ValueError:  # the counter expired or lives where we cannot reach it
            target = self if self.is_up else self._fallback
            if target.add(key, delta, timeout=self.RESTARTED_COUNTER_TIMEOUT, version=version):
                return delta
            return self._call("incr", key, delta, version=version)

    def decr(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("decr", *args, **kwargs)

    def clear(self) -> Any:
        self._fallback.clear()
        return self._call("clear")


class _ThreadsDefault(threading.local):
    generation = -1
    cache: BaseCache | None = None


_threads_default = _ThreadsDefault()
_caches_generation = [0]


def default_cache() -> BaseCache:
    """``caches["default"]`` of the calling thread, kept: Django's handler reads through asgiref's
    ``Local``, a context manager on every read (issue #23: the key check asks on every request).

    Django makes one cache object per thread; so does this. A change of ``CACHES`` (the test
    suite) makes every thread read ``caches["default"]`` again."""
    kept = _threads_default
    if kept.generation != _caches_generation[0] or kept.cache is None:
        kept.cache, kept.generation = caches["default"], _caches_generation[0]
    return kept.cache


@receiver(setting_changed)
def _caches_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "CACHES":
        _caches_generation[0] += 1

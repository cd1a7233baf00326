"""Per-key rate limits (SPEC §2) and the ``X-RateLimit-*`` / ``RateLimit-Policy`` / ``RateLimit`` figures.

Three ways a request is counted, cheapest first:

- **Locally, in batches.** A request whose record this process holds
  (``apikeys.localcache``) is counted in memory and the process adds its count to the
  shared Redis counter every ``API_RATE_LIMIT_BATCH`` requests or
  ``API_RATE_LIMIT_FLUSH_MS`` milliseconds (``INCRBY``, whose answer is the global
  count). It decides from the last global count it saw plus its own unflushed count.
  Each process holds at most one batch unflushed, so a window's overshoot is at most
  *processes x batch*. Only while the key is far from its limit: a process counts
  locally only when the last global count it saw leaves more than
  ``LOCAL_HEADROOM_BATCHES`` batches of headroom, and only once it has seen the
  window's global count; nearer the limit, and for limits smaller than that, every
  request is counted in Redis (exact). ``API_RATE_LIMIT_EXACT`` counts every request
  in Redis always.
- **In Redis, exactly**: in the same Lua call as the lookup when the record came
  from Redis (``request.state.counted``), else one ``INCRBY`` of 1.
- **Per process** (django-ratelimit on the default cache, which falls back to local
  memory while Redis is down: never unlimited) when Redis is unreachable or not used.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django_ratelimit.core import get_usage
from rest_framework.request import Request

from apikeys.cache import key_cache
from apikeys.records import KeyRecord, parse_rate
from core.cache import REDIS_ERRORS
from core.conf import hot
from core.context import RateLimitUsage, RequestState

RATE_LIMIT_GROUP = "apikeys.key"
LOCAL_HEADROOM_BATCHES = 8


@dataclass
class _Window:
    start: int  # the window's start, unix seconds
    seen: int  # the global count Redis last answered for it
    unflushed: int = 0  # this process's requests not yet added to Redis
    flush_by: float = 0.0  # monotonic time: the last answer from Redis plus API_RATE_LIMIT_FLUSH_MS


class LocalCounts:
    """This process's counts per key digest (one window each)."""

    def __init__(self) -> None:
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()

    def saw(self, digest: str, *, now: int, period: int, count: int) -> None:
        """Redis answered ``count`` for this window (an exact count, or a flush)."""
        start = now - now % period
        with self._lock:
            window = self._windows.get(digest)
            if window is None or window.start != start:
                if len(self._windows) >= 100_000:
                    self._windows.clear()
                self._windows[digest] = _Window(start=start, seen=count, flush_by=_flush_by())
            else:
                window.seen = max(window.seen, count)
                window.flush_by = _flush_by()

    def count(self, digest: str, *, now: int, limit: int, period: int) -> tuple[int, int] | None:
        """Count one request locally: ``(count as this process sees it, seconds left)``,
        or ``None`` when it must be counted in Redis, exactly (the caller does)."""
        batch = hot.API_RATE_LIMIT_BATCH
        start = now - now % period
        with self._lock:
            window = self._windows.get(digest)
            if window is None or window.start != start:
                return None  # no global count seen for this window yet
            near = limit - window.seen - window.unflushed <= batch * LOCAL_HEADROOM_BATCHES
            if not near:
                window.unflushed += 1
                if window.unflushed < batch and time.monotonic() < window.flush_by:
                    return window.seen + window.unflushed, start + period - now
            pending, window.unflushed = window.unflushed, 0
        if pending:  # this request included, unless near the limit
            try:
                count, left = key_cache.count(digest, now=now, period=period, n=pending)
            except REDIS_ERRORS:
                return None
            self.saw(digest, now=now, period=period, count=count)
            if not near:
                return count, left
        return None

    def forget(self) -> None:
        """Drop every count (the test suite, between tests)."""
        with self._lock:
            self._windows.clear()


def _flush_by() -> float:
    return time.monotonic() + hot.API_RATE_LIMIT_FLUSH_MS / 1000


local_counts = LocalCounts()


def count_request(request: Request, record: KeyRecord, state: RequestState) -> RateLimitUsage:
    """Count this request against the key's limit and return where it stands (``state``: the
    request's, as authentication left it: counted by the lookup already, or the digest to count)."""
    limit, period = parse_rate(record.rate_limit)
    now = int(time.time())
    counted, digest = state.counted, state.uncounted_key
    if counted is not None:
        count, left = counted
        if digest is not None:
            local_counts.saw(digest, now=now, period=period, count=count)
        return RateLimitUsage(limit=limit, remaining=limit - count, reset=left, window=period)
    if digest is not None:  # the record is held locally (the lookup made no round trip)
        if not hot.API_RATE_LIMIT_EXACT and (local := local_counts.count(digest, now=now, limit=limit, period=period)):
            count, left = local
            return RateLimitUsage(limit=limit, remaining=limit - count, reset=left, window=period)
        try:
            count, left = key_cache.count(digest, now=now, period=period, n=1)
        except REDIS_ERRORS:
            pass
        else:
            local_counts.saw(digest, now=now, period=period, count=count)
            return RateLimitUsage(limit=limit, remaining=limit - count, reset=left, window=period)
    usage = get_usage(
        request,
        group=RATE_LIMIT_GROUP,
        key=lambda group, req: str(record.id),
        rate=record.rate_limit,
        increment=True,
    )
    if usage is None:  # RATELIMIT_ENABLE = False
        return RateLimitUsage(limit=limit, remaining=limit, reset=period - now % period, window=period)
    return RateLimitUsage(limit=limit, remaining=limit - usage["count"], reset=int(usage["time_left"]), window=period)

"""Per-key rate limits (SPEC §2) and the ``X-RateLimit-*`` / ``RateLimit-Policy`` / ``RateLimit`` figures.

With Redis, the key lookup already counted the request in the same round trip
(apikeys/cache.py) and left the count in ``request.state.counted``. Otherwise (no
Redis, Redis unreachable, or a cache miss that could not be counted)
django-ratelimit counts on the default cache, which falls back to per-process
counting while Redis is down: never unlimited.
"""

from __future__ import annotations

import time

from django_ratelimit.core import get_usage
from rest_framework.request import Request

from apikeys.records import KeyRecord, parse_rate
from core.context import RateLimitUsage, request_state

RATE_LIMIT_GROUP = "apikeys.key"


def count_request(request: Request, record: KeyRecord) -> RateLimitUsage:
    """Count this request against the key's limit and return where it stands."""
    limit, period = parse_rate(record.rate_limit)
    counted = request_state(request).counted
    if counted is not None:
        count, left = counted
    else:
        usage = get_usage(
            request,
            group=RATE_LIMIT_GROUP,
            key=lambda group, req: str(record.id),
            rate=record.rate_limit,
            increment=True,
        )
        if usage is None:  # RATELIMIT_ENABLE = False
            return RateLimitUsage(limit=limit, remaining=limit, reset=period - int(time.time()) % period, window=period)
        count, left = usage["count"], usage["time_left"]
    return RateLimitUsage(limit=limit, remaining=limit - count, reset=int(left), window=period)

"""Per-key rate limits (SPEC §2) and the ``X-RateLimit-*`` figures.

With Redis, the key lookup already counted the request in the same round trip
(apikeys/cache.py). Otherwise (no Redis, Redis unreachable, or a cache miss that
could not be counted) django-ratelimit counts on the default cache, which falls
back to per-process counting while Redis is down: never unlimited.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django_ratelimit.core import get_usage
from rest_framework.request import Request

from apikeys.records import KeyRecord

RATE_LIMIT_GROUP = "apikeys.key"


@dataclass(frozen=True)
class Usage:
    limit: int
    remaining: int
    reset: int  # seconds until the window resets

    @property
    def exceeded(self) -> bool:
        return self.remaining < 0

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.remaining)),
            "X-RateLimit-Reset": str(max(0, self.reset)),
        }


def count_request(request: Request, record: KeyRecord) -> Usage:
    """Count this request against the key's limit and return where it stands."""
    limit, period = record.rate_limit
    counted = getattr(request, "key_usage", None)
    if counted is not None:
        count, left = counted
    else:
        usage = get_usage(
            request,
            group=RATE_LIMIT_GROUP,
            key=lambda group, req: str(record.id),
            rate=record.rate,
            increment=True,
        )
        if usage is None:  # RATELIMIT_ENABLE = False
            return Usage(limit=limit, remaining=limit, reset=period - int(time.time()) % period)
        count, left = usage["count"], usage["time_left"]
    return Usage(limit=limit, remaining=limit - count, reset=int(left))

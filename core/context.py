"""``request.state``: what one request learns on its way through Parley.

One documented object instead of loose attributes: the request-id middleware
creates it, authentication and the permission chain fill it in, the error
envelope and the JSON log line read it. Core knows nothing of the apps, so the
credential fields are plain values (ids, hints, numbers), never app objects.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from typing import Any

# The name of the one policy the IETF rate-limit fields describe: the key's own limit.
RATE_LIMIT_POLICY = "key"


@dataclass
class RateLimitUsage:
    """Where a credential stands against its rate limit (the ``X-RateLimit-*`` figures).

    ``headers()`` also gives the same numbers as the IETF fields of
    draft-ietf-httpapi-ratelimit-headers-11, for one policy named ``key``:
    ``RateLimit-Policy: "key";q=<limit>;w=<window>`` and ``RateLimit: "key";r=<remaining>;t=<reset>``.
    """

    limit: int
    remaining: int  # negative once the limit is spent
    reset: int  # seconds until the window resets
    window: int  # the limit's period in seconds (``1000/h`` → 3600)

    @property
    def exceeded(self) -> bool:
        return self.remaining < 0

    def header_entries(self) -> list[tuple[str, tuple[str, str]]]:
        """The rate-limit headers as a response's header store keeps them: ``(lower name, (name, value))``."""
        remaining, reset = str(max(0, self.remaining)), str(max(0, self.reset))
        limit, policy = _fixed_entries(self.limit, self.window)
        return [
            limit,
            ("x-ratelimit-remaining", ("X-RateLimit-Remaining", remaining)),
            ("x-ratelimit-reset", ("X-RateLimit-Reset", reset)),
            policy,
            ("ratelimit", ("RateLimit", f'"{RATE_LIMIT_POLICY}";r={remaining};t={reset}')),
        ]


@functools.lru_cache(maxsize=256)  # the limits in use are few
def _fixed_entries(limit: int, window: int) -> tuple[tuple[str, tuple[str, str]], tuple[str, tuple[str, str]]]:
    """The two rate-limit headers that depend on the limit alone: made once, not on every answer."""
    return (
        ("x-ratelimit-limit", ("X-RateLimit-Limit", str(limit))),
        ("ratelimit-policy", ("RateLimit-Policy", f'"{RATE_LIMIT_POLICY}";q={limit};w={window}')),
    )


@dataclass
class RequestState:
    """Per-request facts. Fields are filled as the request gets that far."""

    request_id: str
    # The workspace the credential acts for, and its display hint (never the secret).
    workspace_id: int | None = None
    credential_hint: str = ""
    # The API key's id, set as soon as its digest is found (revoked and expired keys too):
    # the request log attributes the request to it.
    key_id: int | None = None
    # (count, seconds left) when the key lookup already counted this request in Redis.
    counted: tuple[int, int] | None = None
    # The key's digest when the lookup did not count the request (its record came from
    # this process's memory, or from the database): the rate-limit step counts it. Never logged.
    uncounted_key: str | None = None
    # Set once the rate-limit step ran; its headers go on the response.
    rate_limit: RateLimitUsage | None = None
    # The SPEC §3 code of the error answered, for the log line.
    error_code: str = ""


def request_state(request: Any) -> RequestState:
    """The request's state (a DRF ``Request`` reads through to its Django request).

    Made on first use for requests that did not pass the middleware (tests' factories).
    """
    try:  # a DRF ``Request``: its Django request's, read directly (through DRF's proxy a read misses first)
        return request._request.state
    except AttributeError:
        pass
    target = getattr(request, "_request", request)
    state = getattr(target, "state", None)
    if state is None:
        state = target.state = RequestState(request_id=uuid.uuid4().hex)
    return state

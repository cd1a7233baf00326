"""Rate limits of the widget endpoints (SPEC §5), on the shared cache with django-ratelimit.

``WIDGET_RATE_LIMITS`` names one rate per endpoint; per client IP for the endpoints
a stranger calls first (``config``, ``session``, ``tickets``, ``qnas``, ``search``),
per visitor token for the rest. Every request counts, valid or not: the count is
taken before the request is looked at.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage

from core.errors import RateLimited


def count(request: HttpRequest, endpoint: str, identity: str) -> None:
    """Count this request against ``endpoint``'s limit for ``identity``; ``RateLimited`` once it is spent."""
    usage = get_usage(
        request,
        group=f"widget.{endpoint}",
        key=lambda group, req: identity,
        rate=settings.WIDGET_RATE_LIMITS[endpoint],
        increment=True,
    )
    if usage is not None and usage["should_limit"]:
        raise RateLimited(retry_after=usage["time_left"])
